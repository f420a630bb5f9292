"""torch cross-checks of what the records' generic comparison (tests/test_torch.py) does not express:
class weights with sample weights, per-column pos_weight, per-token weights, huber = δ·smooth_l1 both
ways, and the documented divergence at a clamped variance. Values and gradients agree to 1e-10 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from loss_cases import sample

from losscli import compute

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_agreement import ROWS, Agreement, const, leaf  # noqa: E402

SEEDS = (0, 1, 2)
CLASS_WEIGHT = (0.5, 1.0, 2.0, 3.0, 0.25)  # the samplers draw 5 classes
AGREEMENT = Agreement("options")
agree, compare = AGREEMENT.agree, AGREEMENT.compare


@pytest.fixture(scope="module", autouse=True)
def _report_max_relative_differences():
    yield
    AGREEMENT.report()


@pytest.mark.parametrize("seed", SEEDS)
def test_class_weights_with_sample_weights(seed):
    # Σ s_i·w[y_i]·ℓ_i / Σ s_i·w[y_i] over the kept rows: torch's per-row losses, weighted by hand
    inputs, _ = sample("softmax_cross_entropy", seed, rows=ROWS)
    sample_weights = np.random.default_rng(seed + 50).uniform(0.0, 2.0, ROWS)
    logits, target = leaf(inputs["logits"]), const(inputs["target"], torch.long)
    per_row = F.cross_entropy(logits, target, weight=const(CLASS_WEIGHT), ignore_index=2, reduction="none")
    denominator = const(sample_weights) * const(CLASS_WEIGHT)[target.clamp(max=4)] * (target != 2)
    torch_loss = (const(sample_weights) * per_row).sum() / denominator.sum()
    result = compute("softmax_cross_entropy", inputs, params={"weight": CLASS_WEIGHT, "ignore_index": 2},
                     weights=sample_weights)
    compare("softmax_cross_entropy weight ignore_index + sample weights", result, torch_loss, {"logits": logits})


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pos_weight", [(2.5,), (0.5, 1.0, 4.0)], ids=["scalar", "per-column"])
def test_bce_logits_pos_weight(pos_weight, seed, reduction):
    inputs = {key: array.reshape(8, 3) for key, array in sample("bce_logits", seed, rows=ROWS)[0].items()}
    inputs["target"] = np.where(np.arange(24).reshape(8, 3) % 5 == 0, 0.3, inputs["target"])  # some soft labels
    logits = leaf(inputs["logits"] * 4.0)
    torch_loss = F.binary_cross_entropy_with_logits(logits, const(inputs["target"]), pos_weight=const(pos_weight),
                                                    reduction=reduction)
    result = compute("bce_logits", {**inputs, "logits": inputs["logits"] * 4.0}, params={"pos_weight": pos_weight},
                     reduction=reduction)
    compare(f"bce_logits pos_weight ({'scalar' if len(pos_weight) == 1 else 'per column'})", result, torch_loss,
            {"logits": logits})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.5])
def test_huber_is_delta_times_smooth_l1(delta, seed):
    # torch.nn.HuberLoss documents huber(δ) = δ·smooth_l1(β = δ): check both crossings
    inputs, _ = sample("huber", seed, {"delta": delta}, rows=ROWS)
    label = f"huber = delta·smooth_l1, delta={delta}"
    pred = leaf(inputs["pred"])
    ours = compute("smooth_l1", inputs, params={"beta": delta})
    torch_huber = F.huber_loss(pred, const(inputs["target"]), delta=delta)
    torch_huber.backward()
    agree(label, "value", delta * ours.value, torch_huber.item())
    agree(label, "gradient", delta * ours.gradients["pred"], pred.grad.numpy())
    pred = leaf(inputs["pred"])
    ours = compute("huber", inputs, params={"delta": delta})
    torch_scaled = delta * F.smooth_l1_loss(pred, const(inputs["target"]), beta=delta)
    compare(label, ours, torch_scaled, {"pred": pred})


def test_gaussian_nll_clamped_variance_differs_from_torch_only_in_the_var_gradient():
    # Documented divergence: torch clamps var under no_grad, so its gradient passes the clamp as if
    # var were eps: ½(1/eps - r²/eps²). losscli returns 0, the derivative of the clamped loss (what
    # a finite difference sees). Values and the gradient for pred agree.
    eps, residual = 1e-6, 0.5
    pred, var = leaf([residual, residual]), leaf([0.0, 1e-9])
    torch_loss = F.gaussian_nll_loss(pred, const([0.0, 0.0]), var, eps=eps, reduction="sum")
    torch_loss.backward()
    ours = compute("gaussian_nll", [residual, residual], [0.0, 0.0], [0.0, 1e-9], reduction="sum")
    assert ours.value == pytest.approx(torch_loss.item(), rel=1e-15)
    np.testing.assert_allclose(ours.gradients["pred"], pred.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(var.grad.numpy(), 0.5 * (1 / eps - residual**2 / eps**2), rtol=1e-12)
    np.testing.assert_array_equal(ours.gradients["var"], [0.0, 0.0])


def _weighted_mean(per_sample, weights):
    """torch's recipe for a weighted mean: (w·l).sum() / w.sum()."""
    return (weights * per_sample).sum() / weights.sum()


@pytest.mark.parametrize("seed", SEEDS)
def test_token_weights_lm_nll(seed):
    inputs, _ = sample("lm_nll", seed, rows=ROWS)
    weights = np.random.default_rng(seed + 60).uniform(0.0, 2.0, inputs["targets"].shape)
    logits = leaf(inputs["logits"])
    vocab = inputs["logits"].shape[-1]
    per_token = F.cross_entropy(logits.reshape(-1, vocab), const(inputs["targets"], torch.long).reshape(-1),
                                reduction="none")
    torch_loss = _weighted_mean(per_token, const(weights).reshape(-1))
    compare("lm_nll (weighted)", compute("lm_nll", inputs, weights=weights), torch_loss, {"logits": logits})
