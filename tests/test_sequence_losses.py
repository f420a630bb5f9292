"""lm_nll and perplexity (losscli/losses/sequence.py): hand values, identities, ignored tokens,
stability.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import assert_finite, sample

from losscli import ParameterError, compute, get_loss


@pytest.mark.parametrize("vocab", [2, 7, 50])
def test_uniform_logits_give_perplexity_vocab(vocab):
    # softmax of equal logits is 1/V for every token: NLL ln V, perplexity V
    logits = np.full((2, 3, vocab), 1.7)
    targets = np.arange(6).reshape(2, 3) % vocab
    assert compute("lm_nll", logits, targets).value == pytest.approx(math.log(vocab), rel=1e-14)
    assert compute("perplexity", logits, targets).value == pytest.approx(vocab, rel=1e-13)


def test_perplexity_by_hand():
    # token 1: logits (0, ln 3) -> p(target 1) = 3/4;  token 2: logits (0, 0) -> p = 1/2
    # mean NLL = (ln 4/3 + ln 2) / 2 -> PPL = sqrt(8/3)
    logits = [[0.0, math.log(3.0)], [0.0, 0.0]]
    assert compute("perplexity", logits, [1, 0]).value == pytest.approx(math.sqrt(8 / 3), rel=1e-14)


def test_lm_losses_accept_flattened_tokens():
    # [B, T, V] and the same tokens flattened to [B·T, V] give the same mean
    inputs, _ = sample(get_loss("lm_nll"), 5)
    logits, targets = inputs["logits"], inputs["targets"]
    flat = compute("lm_nll", logits.reshape(-1, logits.shape[-1]), targets.ravel()).value
    assert flat == pytest.approx(compute("lm_nll", logits, targets).value, rel=1e-14)


def test_perplexity_is_exp_of_lm_nll():
    inputs, _ = sample(get_loss("lm_nll"), 10)
    nll = compute("lm_nll", *inputs.values())
    ppl = compute("perplexity", *inputs.values())
    assert ppl.value == pytest.approx(math.exp(nll.value), rel=1e-14)
    # chain rule: d exp(L) = exp(L)·dL
    np.testing.assert_allclose(ppl.gradients["logits"], ppl.value * nll.gradients["logits"], rtol=1e-13)
    none = compute("perplexity", *inputs.values(), reduction="none").value
    np.testing.assert_allclose(none, np.exp(compute("lm_nll", *inputs.values(), reduction="none").value), rtol=1e-14)


def test_lm_nll_equals_softmax_cross_entropy_of_flattened_tokens():
    inputs, _ = sample(get_loss("lm_nll"), 14)
    logits, targets = inputs["logits"], inputs["targets"]
    flat = compute("softmax_cross_entropy", logits.reshape(-1, logits.shape[-1]), targets.ravel())
    assert compute("lm_nll", logits, targets).value == pytest.approx(flat.value, rel=1e-14)


def test_perplexity_rejects_sum():
    inputs, _ = sample(get_loss("perplexity"), 20)
    with pytest.raises(ParameterError, match="perplexity supports reductions mean, none, not 'sum'"):
        compute("perplexity", inputs, reduction="sum")


@pytest.mark.filterwarnings("error")
def test_perplexity_huge_logits():
    # targets at the ±1e4 logits' argmax: every token is certain, NLL 0, perplexity exactly 1
    logits = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]]])
    result = compute("perplexity", logits, [[0, 1]])
    assert result.value == 1.0
    assert_finite(result)
    # one wrong token out of 2000: mean NLL 2e4 / 2000 = 10, PPL e^10, still finite
    logits = np.tile(np.array([1e4, -1e4]), (2000, 1))
    targets = np.zeros(2000)
    targets[0] = 1
    result = compute("perplexity", logits, targets)
    assert result.value == pytest.approx(math.exp(10.0), rel=1e-12)
    assert_finite(result)


@pytest.mark.parametrize("name", ["lm_nll", "perplexity"])
def test_ignored_tokens_are_left_out(name):
    # padding tokens (id 0 here) are left out: the same as the flattened kept tokens alone
    inputs, _ = sample(name, 12, rows=4)
    logits, targets = inputs["logits"], inputs["targets"]
    kept = targets != 0
    ignored = compute(name, logits, targets, params={"ignore_index": 0})
    without = compute(name, logits[kept], targets[kept])
    assert ignored.value == pytest.approx(without.value, rel=1e-14)
    np.testing.assert_allclose(ignored.gradients["logits"][kept], without.gradients["logits"], rtol=1e-13)
    assert np.all(ignored.gradients["logits"][~kept] == 0.0)
