"""Sequence losses: token negative log-likelihood of a language model, and perplexity.

Logits are [B, T, V] (or [N, V] for flattened tokens) and targets are token ids [B, T] (or
[N]); the per-sample loss is one value per token and the mean runs over all tokens. Class
weights and ignore_index (padding tokens) follow torch's cross_entropy: the mean divides by
Σ w[x_t] over the tokens that are not ignored.
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, Task, Transform
from ._numerics import class_ids, log_softmax
from .categorical import (
    IGNORE_INDEX_PARAM,
    WEIGHT_PARAM,
    check_class_options,
    class_denominators,
    softmax_cross_entropy,
    softmax_cross_entropy_gradient,
    target_rows,
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


LOG_LARGEST = float(np.log(np.finfo(np.float64).max))  # 709.78: e^ℓ overflows beyond


def exp_chain(per_sample, gradients, logits, targets, *, weight=None, ignore_index=-100):
    """d e^ℓ/dz = e^ℓ·∂ℓ per token (reduction none), from the loss's own gradient while e^ℓ is finite, and in
    log space for the tokens whose NLL ℓ exceeds 709.78: there e^ℓ overflows and the softmax entries of ∂ℓ
    underflow, but their products are often finite (e^(z_c - z_y) for w = 1)."""
    with np.errstate(over="ignore"):
        chained = np.exp(per_sample)[..., None] * gradients["logits"]
    overflow = per_sample > LOG_LARGEST
    if np.any(overflow):
        chained[overflow] = _log_space_token_gradient(logits[overflow], targets[overflow], weight=weight,
                                                      ignore_index=ignore_index)
    return {"logits": chained}


def _log_space_token_gradient(logits, targets, *, weight=None, ignore_index=-100):
    """w_y·e^ℓ·(softmax(z) - onehot(y)) as w_y·e^(ℓ + log p_c) and -w_y·e^(ℓ + log(1 - p_y)), ℓ = -w_y·log p_y.
    logits [..., V], targets [...] -> [..., V]."""
    shares = target_rows(logits, targets, weight=weight, ignore_index=ignore_index)  # w_y·onehot(y), 0 if ignored
    weight_y = np.sum(shares, axis=-1, keepdims=True)
    log_probs = log_softmax(logits)
    nll = -np.sum(shares * log_probs, axis=-1, keepdims=True)
    is_target = class_ids(np.where(targets == ignore_index, 0, targets)) == np.arange(logits.shape[-1])
    with np.errstate(divide="ignore", over="ignore"):
        log_miss = np.log(-np.expm1(np.sum(np.where(is_target, log_probs, 0.0), axis=-1, keepdims=True)))
        return weight_y * np.where(is_target, -np.exp(nll + log_miss), np.exp(nll + log_probs))


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
    transform=Transform("exp", np.exp, np.exp, chain=exp_chain),
    reductions=("mean", "none"),
    formula="exp(mean lm_nll)",
    gradient_formula="∂/∂z_t = PPL·(softmax(z_t) - onehot(x_t)) / T  (chain rule through exp)",
    when_to_use="Reporting language models: the effective number of equally likely next tokens.",
    output_activation="none (softmax over the vocabulary inside the loss)",
    notes="Only mean (exp of the mean NLL) and none (exp of each token's NLL) make sense: a sum has no "
          "perplexity. Cross-entropy of 4.0 nats is a perplexity of about 54.6. " + LM_NOTE,
    accurate_range="inf once the mean NLL exceeds 709.78 (a perplexity above 1.8e308), as is the truth",
)

SPECS = (LM_NLL, PERPLEXITY)
