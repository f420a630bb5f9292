"""Cross-checks against PyTorch in float64: values and gradients agree to 1e-10 relative.

Skipped when torch is not installed (``.ci/run`` installs torch==2.13.0). Inputs come from each
spec's generator, so they stay away from kinks and from the probability clipping, where torch
and losscli differ by design (torch clamps log to -100, losscli clips p to [eps, 1 - eps]).

Values are compared by plain relative difference, gradients normwise (see relative_differences).
The largest seen per loss is printed at the end of the module (run with ``-s``). Recorded with
torch 2.13.0+cpu, numpy 2.4.6:
    loss                                 value     gradient  gradient elementwise (not asserted)
    mse                                3.3e-16     0            0
    mae                                2.9e-16     0            0
    huber                              1.5e-16     0            0
    bce                                3.7e-16     1.8e-16      2.2e-16
    bce_logits                         2.1e-16     2.2e-16      1.3e-07  (σ(x) - y near x = ±20)
    cross_entropy                      2.1e-16     1.9e-16      3.0e-16
    softmax_cross_entropy              2.9e-16     4.0e-16      3.8e-13
    label_smoothing                    2.9e-16     4.0e-16      3.8e-13
    focal                              2.7e-16     4.5e-16      1.2e-13
    triplet                            4.0e-16     3.8e-16      1.8e-14
    infonce                            2.9e-15     5.7e-15      7.0e-10  (Σ_k g_k·k_k cancels)
    lm_nll                             1.4e-16     2.5e-16      4.7e-16
    perplexity (exp of cross_entropy)  5.7e-16     6.4e-16      8.8e-16
    contrastive (autograd of formula)  2.0e-16     1.1e-16      1.2e-15
    weighted (mse, bce, bce_logits, softmax_cross_entropy, triplet, lm_nll): all <= 5.3e-16
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from losscli import compute, get_loss

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_agreement import ROWS, Agreement, const, leaf, sample, torchvision_sigmoid_focal_loss  # noqa: E402

SEEDS = (0, 1, 2)
AGREEMENT = Agreement("seed losses")
agree, compare = AGREEMENT.agree, AGREEMENT.compare


@pytest.fixture(scope="module", autouse=True)
def _report_max_relative_differences():
    yield
    AGREEMENT.report()


def _one_hot_smoothed_free_targets(rng, rows, classes):
    return rng.dirichlet(np.ones(classes), rows)


# --- regression -----------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("two_columns", [False, True])
@pytest.mark.parametrize(("name", "torch_fn", "params"), [
    ("mse", lambda p, t, **_: F.mse_loss(p, t, reduction=_["reduction"]), {}),
    ("mae", lambda p, t, **_: F.l1_loss(p, t, reduction=_["reduction"]), {}),
    ("huber", lambda p, t, **_: F.huber_loss(p, t, reduction=_["reduction"], delta=1.0), {}),
    ("huber", lambda p, t, **_: F.huber_loss(p, t, reduction=_["reduction"], delta=0.5), {"delta": 0.5}),
    ("huber", lambda p, t, **_: F.huber_loss(p, t, reduction=_["reduction"], delta=2.5), {"delta": 2.5}),
], ids=["mse", "mae", "huber", "huber-0.5", "huber-2.5"])
def test_regression(name, torch_fn, params, two_columns, seed, reduction):
    inputs = sample(name, seed, params)
    if two_columns:
        inputs = {key: array.reshape(-1, 2) for key, array in inputs.items()}
    pred = leaf(inputs["pred"])
    result = compute(name, inputs, params=params, reduction=reduction)
    compare(name, result, torch_fn(pred, const(inputs["target"]), reduction=reduction), {"pred": pred})


# --- binary classification ------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("soft", [False, True])
def test_bce(seed, reduction, soft):
    inputs = sample("bce", seed)
    if soft:
        inputs["target"] = np.random.default_rng(seed + 10).uniform(0.0, 1.0, ROWS)
    pred = leaf(inputs["pred"])
    result = compute("bce", inputs, reduction=reduction)
    compare("bce", result, F.binary_cross_entropy(pred, const(inputs["target"]), reduction=reduction),
            {"pred": pred})


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_bce_logits(seed, reduction, scale):
    inputs = sample("bce_logits", seed)
    inputs["logits"] = inputs["logits"] * scale
    inputs["target"] = np.where(np.arange(ROWS) % 3 == 0, 0.3, inputs["target"])  # some soft labels
    logits = leaf(inputs["logits"])
    result = compute("bce_logits", inputs, reduction=reduction)
    torch_loss = F.binary_cross_entropy_with_logits(logits, const(inputs["target"]), reduction=reduction)
    compare("bce_logits", result, torch_loss, {"logits": logits})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("params", [{}, {"gamma": 0.5}, {"gamma": 3.0, "alpha": 0.7}, {"gamma": 0.0, "alpha": 0.5}],
                         ids=["defaults", "gamma0.5", "gamma3-alpha0.7", "gamma0"])
def test_focal_equals_torchvision_at_logit_of_p(seed, soft, params):
    inputs = sample("focal", seed)
    if soft:
        inputs["target"] = np.random.default_rng(seed + 20).uniform(0.0, 1.0, ROWS)
    prob = inputs["pred"]
    resolved = get_loss("focal").resolve_params(params)
    logits = leaf(np.log(prob / (1.0 - prob)))
    torch_loss = torchvision_sigmoid_focal_loss(logits, const(inputs["target"]), resolved["alpha"],
                                                resolved["gamma"]).mean()
    torch_loss.backward()
    result = compute("focal", inputs, params=params)
    agree("focal", "value", result.value, torch_loss.item())
    # chain rule through p = sigmoid(x): dL/dp = (dL/dx) / (p(1 - p))
    grad_prob = logits.grad.numpy() / (prob * (1.0 - prob))
    agree("focal", "gradient", result.gradients["pred"], grad_prob, what="d/dpred")


# --- multi-class classification -------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("targets", ["ids", "probabilities"])
def test_softmax_cross_entropy(seed, reduction, smoothing, targets):
    inputs = sample("softmax_cross_entropy", seed)
    rows, classes = inputs["logits"].shape
    if targets == "ids":
        torch_target = const(inputs["target"], torch.long)
    else:
        inputs["target"] = _one_hot_smoothed_free_targets(np.random.default_rng(seed + 30), rows, classes)
        torch_target = const(inputs["target"])
    for name in ("softmax_cross_entropy", "label_smoothing"):
        logits = leaf(inputs["logits"])
        torch_loss = F.cross_entropy(logits, torch_target, reduction=reduction, label_smoothing=smoothing)
        result = compute(name, inputs, params={"smoothing": smoothing}, reduction=reduction)
        compare(name, result, torch_loss, {"logits": logits})


def test_label_smoothing_default_matches_torch():
    inputs = sample("label_smoothing", 5)
    logits = leaf(inputs["logits"])
    result = compute("label_smoothing", inputs)
    compare("label_smoothing", result,
            F.cross_entropy(logits, const(inputs["target"], torch.long), label_smoothing=0.1), {"logits": logits})


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_on_probabilities_is_nll_of_log(seed, reduction):
    inputs = sample("cross_entropy", seed)
    pred = leaf(inputs["pred"])
    result = compute("cross_entropy", inputs, reduction=reduction)
    torch_loss = F.nll_loss(torch.log(pred), const(inputs["target"], torch.long), reduction=reduction)
    compare("cross_entropy", result, torch_loss, {"pred": pred})


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_on_probabilities_with_probability_targets(seed):
    inputs = sample("cross_entropy", seed)
    rows, classes = inputs["pred"].shape
    inputs["target"] = _one_hot_smoothed_free_targets(np.random.default_rng(seed + 40), rows, classes)
    pred = leaf(inputs["pred"])
    result = compute("cross_entropy", inputs)
    torch_loss = -(const(inputs["target"]) * torch.log(pred)).sum(dim=1).mean()
    compare("cross_entropy", result, torch_loss, {"pred": pred})


# --- embeddings -----------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_triplet_margin_loss(seed, reduction, margin):
    inputs = sample("triplet", seed, {"margin": margin})
    leaves = {name: leaf(array) for name, array in inputs.items()}
    result = compute("triplet", inputs, params={"margin": margin}, reduction=reduction)
    torch_loss = F.triplet_margin_loss(leaves["anchor"], leaves["positive"], leaves["negative"], margin=margin,
                                       p=2, eps=0.0, reduction=reduction)
    compare("triplet", result, torch_loss, leaves)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{}, {"positive_idx": 2, "temperature": 0.5}, {"temperature": 0.01}],
                         ids=["defaults", "pos2-t0.5", "t0.01"])
def test_infonce_is_cross_entropy_of_similarities(seed, reduction, params):
    inputs = sample("infonce", seed, params)
    resolved = get_loss("infonce").resolve_params(params)
    query, keys = leaf(inputs["query"]), leaf(inputs["keys"])
    similarities = torch.einsum("nd,nkd->nk", query, keys) / resolved["temperature"]
    positive = torch.full((ROWS,), resolved["positive_idx"], dtype=torch.long)
    result = compute("infonce", inputs, params=params, reduction=reduction)
    compare("infonce", result, F.cross_entropy(similarities, positive, reduction=reduction),
            {"query": query, "keys": keys})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("margin", [1.0, 2.0])
def test_contrastive_against_autograd_of_its_formula(seed, margin):
    # torch has no contrastive loss: the formula (label 1 = same class) in torch ops, differentiated by autograd
    inputs = sample("contrastive", seed, {"margin": margin})
    x1, x2 = leaf(inputs["x1"]), leaf(inputs["x2"])
    labels = const(inputs["labels"])
    distance = F.pairwise_distance(x1, x2, p=2.0, eps=0.0)
    per_pair = 0.5 * labels * distance**2 + 0.5 * (1 - labels) * torch.clamp(margin - distance, min=0.0) ** 2
    result = compute("contrastive", inputs, params={"margin": margin})
    compare("contrastive (autograd of formula)", result, per_pair.mean(), {"x1": x1, "x2": x2})


# --- sequences ------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
def test_lm_nll_is_cross_entropy_of_flattened_tokens(seed, reduction):
    inputs = sample("lm_nll", seed)
    logits = leaf(inputs["logits"])
    vocab = inputs["logits"].shape[-1]
    torch_loss = F.cross_entropy(logits.reshape(-1, vocab), const(inputs["targets"], torch.long).reshape(-1),
                                 reduction=reduction)
    compare("lm_nll", compute("lm_nll", inputs, reduction=reduction), torch_loss, {"logits": logits})


@pytest.mark.parametrize("seed", SEEDS)
def test_perplexity_is_exp_of_torch_cross_entropy(seed):
    inputs = sample("perplexity", seed)
    logits = leaf(inputs["logits"])
    vocab = inputs["logits"].shape[-1]
    torch_loss = torch.exp(F.cross_entropy(logits.reshape(-1, vocab), const(inputs["targets"], torch.long).reshape(-1)))
    compare("perplexity (exp of cross_entropy)", compute("perplexity", inputs), torch_loss, {"logits": logits})


# --- sample weights -------------------------------------------------------------------------

def _weighted_mean(per_sample, weights):
    """torch's recipe for a weighted mean: (w·l).sum() / w.sum()."""
    return (weights * per_sample).sum() / weights.sum()


WEIGHTED_CASES = {
    "mse": lambda t, x: F.mse_loss(x["pred"], t["target"], reduction="none"),
    "bce": lambda t, x: F.binary_cross_entropy(x["pred"], t["target"], reduction="none"),
    "bce_logits": lambda t, x: F.binary_cross_entropy_with_logits(x["logits"], t["target"], reduction="none"),
    "softmax_cross_entropy": lambda t, x: F.cross_entropy(x["logits"], t["target"].long(), reduction="none"),
    "triplet": lambda t, x: F.triplet_margin_loss(x["anchor"], x["positive"], x["negative"], margin=0.2, eps=0.0,
                                                  reduction="none"),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(WEIGHTED_CASES))
def test_sample_weights(name, seed):
    spec = get_loss(name)
    inputs = sample(name, seed)
    weights = np.random.default_rng(seed + 50).uniform(0.0, 2.0, ROWS)
    leaves = {key: leaf(array) for key, array in inputs.items() if key in spec.differentiable_inputs}
    targets = {key: const(array) for key, array in inputs.items() if key not in spec.differentiable_inputs}
    torch_loss = _weighted_mean(WEIGHTED_CASES[name](targets, leaves), const(weights))
    compare(f"{name} (weighted)", compute(name, inputs, weights=weights), torch_loss, leaves)


@pytest.mark.parametrize("seed", SEEDS)
def test_token_weights_lm_nll(seed):
    inputs = sample("lm_nll", seed)
    weights = np.random.default_rng(seed + 60).uniform(0.0, 2.0, inputs["targets"].shape)
    logits = leaf(inputs["logits"])
    vocab = inputs["logits"].shape[-1]
    per_token = F.cross_entropy(logits.reshape(-1, vocab), const(inputs["targets"], torch.long).reshape(-1),
                                reduction="none")
    torch_loss = _weighted_mean(per_token, const(weights).reshape(-1))
    compare("lm_nll (weighted)", compute("lm_nll", inputs, weights=weights), torch_loss, {"logits": logits})


# Losses with a cross-check in this module; a spec that names a torch equivalent must be listed (and checked).
CROSS_CHECKED = {"mse", "mae", "huber", "bce", "bce_logits", "cross_entropy", "softmax_cross_entropy",
                 "label_smoothing", "focal", "triplet", "infonce", "lm_nll", "perplexity", "contrastive",
                 # issue 6, checked in tests/test_torch_classification_more.py
                 "kl_div", "focal_logits", "hinge", "squared_hinge", "cosine",
                 # issue 6, checked in tests/test_torch_regression_more.py
                 "smooth_l1", "poisson_nll", "gaussian_nll"}


def test_every_torch_equivalent_is_cross_checked():
    missing = [spec.name for spec in losscli.LOSSES if spec.torch_equivalent and spec.name not in CROSS_CHECKED]
    assert not missing, f"add a torch cross-check for {missing} to tests/test_torch.py"
