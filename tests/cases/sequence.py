"""Records for lm_nll and perplexity (losscli/losses/sequence.py)."""

from __future__ import annotations

import math

import numpy as np
from loss_cases import Extreme, LossCase

from .categorical import exact_softmax_cross_entropy, logit_rows, naive_softmax_cross_entropy, vocabulary_rows
from .exact import mpmath
from .tables import rows
from .torch_ops import class_weight

VOCAB_WEIGHT = (1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.1)


def naive_lm_nll(logits, targets, *, weight=(), ignore_index=-100) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    flat = logits.reshape(-1, logits.shape[-1])
    return naive_softmax_cross_entropy(flat, np.asarray(targets).ravel(), weight=weight, ignore_index=ignore_index)


def naive_perplexity(logits, targets, *, weight=(), ignore_index=-100) -> float:
    return math.exp(naive_lm_nll(logits, targets, weight=weight, ignore_index=ignore_index))


def exact_lm_nll(logits, targets, *, weight=None, ignore_index=-100):
    return exact_softmax_cross_entropy(logits, targets, weight=weight, ignore_index=ignore_index)


def exact_perplexity(logits, targets, *, weight=None, ignore_index=-100):
    """Per token (reduction none): exp(ℓ) and exp(ℓ)·dℓ/dz, ℓ the token's weighted NLL."""
    mp = mpmath()
    nll, gradient = exact_lm_nll(logits, targets, weight=weight, ignore_index=ignore_index)
    scale = mp.exp(nll)
    return scale, {"logits": [scale * g for g in gradient["logits"]]}


def torch_lm_nll(torch, t, params, reduction):
    """cross_entropy of the tokens flattened to [B·T, V] (per-token values back in [B, T] for none)."""
    logits, targets = t["logits"], t["targets"]
    values = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(),
                                               weight=class_weight(torch, params),
                                               ignore_index=params["ignore_index"], reduction=reduction)
    return values.reshape(targets.shape) if reduction == "none" else values


def torch_perplexity(torch, t, params, reduction):
    return torch.exp(torch_lm_nll(torch, t, params, reduction))


def lm_extremes():
    logits, target = logit_rows()
    as_sequences = {"logits": logits.reshape(3, -1, 3), "targets": target.reshape(3, -1)}
    cases = [Extreme("logits ±1e4 as [B, T, V]", as_sequences),
             Extreme("weights and ignored tokens", {"logits": logits, "targets": np.where(target == 2, 9.0, target)},
                     {"weight": (0.5, 2.0, 1.0), "ignore_index": 9}),
             Extreme("an NLL beyond 709: exp overflows, the gradient's other entries do not",
                     {"logits": rows([0.0, -800.0, -1000.0], [5.0, 0.0, -750.0]), "targets": rows(2.0, 2.0)})]
    vocab_logits, vocab_target = vocabulary_rows()
    cases.append(Extreme("vocabulary of 50,000", {"logits": vocab_logits[None], "targets": vocab_target[None]},
                         slow=True))
    return tuple(cases)


CASES = (
    LossCase("lm_nll", naive=naive_lm_nll, exact=exact_lm_nll, extremes=lm_extremes, torch=torch_lm_nll,
             torch_native=True, shift_invariant=True, variants=({"weight": VOCAB_WEIGHT, "ignore_index": 6},)),
    # a perplexity is only finite while the NLL stays below ~709: the properties keep scores within ±50
    LossCase("perplexity", naive=naive_perplexity, exact=exact_perplexity, extremes=lm_extremes,
             torch=torch_perplexity, torch_native=True, shift_invariant=True, real_bound=50.0,
             variants=({"weight": VOCAB_WEIGHT, "ignore_index": 6},)),
)
