"""Sequence losses: token negative log-likelihood of a language model, and perplexity.

Logits are [B, T, V] (or [N, V] for flattened tokens) and targets are token ids [B, T] (or
[N]); the per-sample loss is one value per token and the mean runs over all tokens. Class
weights and ignore_index (padding tokens) follow torch's cross_entropy: the mean divides by
Σ w[x_t] over the tokens that are not ignored.
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, Task, Transform
from .categorical import (
    IGNORE_INDEX_PARAM,
    WEIGHT_PARAM,
    check_class_options,
    class_denominators,
    softmax_cross_entropy,
    softmax_cross_entropy_gradient,
)

LM_INPUTS = (
    InputSpec("logits", (("...", "V"),), Domain.REAL, True, "next-token scores over a vocabulary of V"),
    InputSpec("targets", (("...",),), Domain.TOKEN_IDS, False, "the observed next-token ids"),
)
LM_PARAMS = (WEIGHT_PARAM, IGNORE_INDEX_PARAM)
LM_NOTE = ("weight: one per vocabulary entry, each token's NLL times w[x_t], the mean over Σ w[x_t]; ignore_index "
           "(e.g. padding): those tokens cost 0 and leave the mean, as torch's cross_entropy.")


def lm_nll(logits: np.ndarray, targets: np.ndarray, *, weight=None, ignore_index: int = -100) -> np.ndarray:
    """Per-token negative log-likelihood -w[x_t]·log softmax(z_t)[x_t] via log-sum-exp.

    0 for tokens equal to ignore_index. logits: [B, T, V] or [N, V]; targets: [B, T] or [N]
    -> [B, T] or [N].
    """
    return softmax_cross_entropy(logits, targets, smoothing=0.0, weight=weight, ignore_index=ignore_index)


def lm_nll_gradient(logits, targets, *, weight=None, ignore_index=-100):
    """w[x_t]·(softmax(z_t) - onehot(x_t)) for each token (0 for ignored ones)."""
    return softmax_cross_entropy_gradient(logits, targets, smoothing=0.0, weight=weight, ignore_index=ignore_index)


SAMPLE_STEPS, SAMPLE_VOCAB = 3, 7


def sample_lm(rng, n, params):
    logits = rng.normal(0.0, 2.0, (n, SAMPLE_STEPS, SAMPLE_VOCAB))
    return {"logits": logits, "targets": rng.integers(0, SAMPLE_VOCAB, (n, SAMPLE_STEPS)).astype(np.float64)}


LM_NLL = LossSpec(
    name="lm_nll", aliases=("nll", "language_model"), task=Task.SEQUENCE, inputs=LM_INPUTS, params=LM_PARAMS,
    example_files=("sample_data/lm_logits.npy", "sample_data/lm_targets.npy"),
    forward=lm_nll, gradient=lm_nll_gradient, sample=sample_lm,
    denominator=class_denominators, check=check_class_options, notes=LM_NOTE,
    formula="-(1/T)·Σ_t log softmax(z_t)[x_t]",
    gradient_formula="∂/∂z_t = softmax(z_t) - onehot(x_t)",
    when_to_use="Autoregressive language modelling: the average surprise of the observed next tokens, in nats.",
    output_activation="none (softmax over the vocabulary inside the loss)",
    torch_equivalent="torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), weight=w, "
                     "ignore_index=i)",
)

PERPLEXITY = LossSpec(
    name="perplexity", aliases=("ppl",), task=Task.SEQUENCE, inputs=LM_INPUTS, params=LM_PARAMS,
    example_files=("sample_data/lm_logits.npy", "sample_data/lm_targets.npy"),
    forward=lm_nll, gradient=lm_nll_gradient, sample=sample_lm,
    denominator=class_denominators, check=check_class_options,
    transform=Transform("exp", np.exp, np.exp), reductions=("mean", "none"),
    formula="exp(mean lm_nll)",
    gradient_formula="∂/∂z_t = PPL·(softmax(z_t) - onehot(x_t)) / T  (chain rule through exp)",
    when_to_use="Reporting language models: the effective number of equally likely next tokens.",
    output_activation="none (softmax over the vocabulary inside the loss)",
    notes="Only mean (exp of the mean NLL) and none (exp of each token's NLL) make sense: a sum has no "
          "perplexity. Cross-entropy of 4.0 nats is a perplexity of about 54.6. " + LM_NOTE,
)

SPECS = (LM_NLL, PERPLEXITY)
