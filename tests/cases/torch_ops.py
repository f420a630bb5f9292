"""Helpers for the records' torch equivalents.

A record's ``torch(torch, tensors, params, reduction)`` gets the torch module, the inputs as float64
tensors (the differentiable ones as leaves) and the resolved parameters, and returns torch's loss
for ``reduction`` ("none": the per-sample values losscli reports, transforms included).
"""

from __future__ import annotations


def reduce(values, reduction: str):
    """torch's reductions of per-element values: none, mean over all elements, sum."""
    return values if reduction == "none" else (values.mean() if reduction == "mean" else values.sum())


def class_weight(torch, params):
    """torch's ``weight`` argument: the class weights as a tensor, or None."""
    weight = params.get("weight")
    return torch.tensor(weight, dtype=torch.float64) if weight else None


def is_class_ids(scores, target) -> bool:
    return target.dim() == scores.dim() - 1
