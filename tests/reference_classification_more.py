"""Naive references for issue 6 classification and margin losses (hinge, squared_hinge, kl_div, cosine,
focal_logits, softmax_focal)."""

REFERENCES_CLASSIFICATION_MORE = {}
