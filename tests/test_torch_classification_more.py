"""Issue 6's classification and margin losses and options against PyTorch, in float64: values and
gradients agree to 1e-10 relative (gradients normwise, as tests/test_torch.py measures them).

Run with ``-s`` to print the largest relative difference seen per loss and option.
"""

from __future__ import annotations

import numpy as np
import pytest

from losscli import compute, get_loss

torch = pytest.importorskip("torch")
F = torch.nn.functional

from torch_agreement import ROWS, Agreement, const, leaf, sample, torchvision_sigmoid_focal_loss  # noqa: E402

SEEDS = (0, 1, 2)
CLASS_WEIGHT = (0.5, 1.0, 2.0, 3.0, 0.25)  # the samplers draw 5 classes
VOCAB_WEIGHT = (1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.1)  # and a vocabulary of 7


AGREEMENT = Agreement("issue 6 classification losses and options")
agree, compare = AGREEMENT.agree, AGREEMENT.compare


@pytest.fixture(scope="module", autouse=True)
def _report_max_relative_differences():
    yield
    AGREEMENT.report()


def _label(name, params):
    return " ".join([name, *(f"{key}" for key in params)]) if params else f"{name} (defaults)"


# --- the cross-entropy family: weight, ignore_index, label_smoothing -------------------------

CE_OPTIONS = [{"weight": CLASS_WEIGHT}, {"ignore_index": 2}, {"smoothing": 0.2},
              {"weight": CLASS_WEIGHT, "ignore_index": 2, "smoothing": 0.2}]
CE_IDS = ["weight", "ignore_index", "smoothing", "all"]


def _torch_options(params, probability_targets=False):
    options = {"label_smoothing": params.get("smoothing", 0.0)}
    if "weight" in params:
        options["weight"] = const(params["weight"])
    if "ignore_index" in params and not probability_targets:  # torch: not supported for probabilities
        options["ignore_index"] = params["ignore_index"]
    return options


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", CE_OPTIONS, ids=CE_IDS)
@pytest.mark.parametrize("name", ["softmax_cross_entropy", "label_smoothing"])
def test_cross_entropy_options_class_ids(name, params, seed, reduction):
    inputs = sample(name, seed)
    assert np.any(inputs["target"] == 2) and not np.all(inputs["target"] == 2)
    logits = leaf(inputs["logits"])
    label = f"{_label(name, params)} (class ids)"
    params = {"smoothing": 0.0, **params} if name == "softmax_cross_entropy" else {"smoothing": 0.1, **params}
    torch_loss = F.cross_entropy(logits, const(inputs["target"], torch.long), reduction=reduction,
                                 **_torch_options(params))
    compare(label, compute(name, inputs, params=params, reduction=reduction), torch_loss, {"logits": logits})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", CE_OPTIONS, ids=CE_IDS)
def test_cross_entropy_options_probability_targets(params, seed, reduction):
    # torch: w inside the sum, the mean over N; our ignore_index is passed but does not apply
    inputs = sample("softmax_cross_entropy", seed)
    inputs["target"] = np.random.default_rng(seed + 30).dirichlet(np.ones(5), ROWS)
    logits = leaf(inputs["logits"])
    torch_loss = F.cross_entropy(logits, const(inputs["target"]), reduction=reduction,
                                 **_torch_options(params, probability_targets=True))
    result = compute("softmax_cross_entropy", inputs, params=params, reduction=reduction)
    label = _label("softmax_cross_entropy", params).replace("ignore_index", "ignore_index(unused)")
    compare(f"{label} (probabilities)", result, torch_loss, {"logits": logits})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{"weight": CLASS_WEIGHT}, {"ignore_index": 2},
                                    {"weight": CLASS_WEIGHT, "ignore_index": 2}], ids=["weight", "ignore", "both"])
def test_cross_entropy_on_probabilities_is_nll_loss_of_log(params, seed, reduction):
    inputs = sample("cross_entropy", seed)
    pred = leaf(inputs["pred"])
    options = {key: const(value) if key == "weight" else value for key, value in params.items()}
    torch_loss = F.nll_loss(torch.log(pred), const(inputs["target"], torch.long), reduction=reduction, **options)
    result = compute("cross_entropy", inputs, params=params, reduction=reduction)
    compare(f"{_label('cross_entropy', params)} (nll_loss of log p)", result, torch_loss, {"pred": pred})


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_on_probabilities_weighted_probability_targets(seed):
    # torch's formula for probability targets (cross_entropy_loss_prob_target) in torch ops
    inputs = sample("cross_entropy", seed)
    inputs["target"] = np.random.default_rng(seed + 40).dirichlet(np.ones(5), ROWS)
    pred = leaf(inputs["pred"])
    torch_loss = -(const(CLASS_WEIGHT) * const(inputs["target"]) * torch.log(pred)).sum(dim=1).mean()
    result = compute("cross_entropy", inputs, params={"weight": CLASS_WEIGHT})
    compare("cross_entropy weight (probabilities)", result, torch_loss, {"pred": pred})


@pytest.mark.parametrize("seed", SEEDS)
def test_class_weights_with_sample_weights(seed):
    # Σ s_i·w[y_i]·ℓ_i / Σ s_i·w[y_i] over the kept rows: torch's per-row losses, weighted by hand
    inputs = sample("softmax_cross_entropy", seed)
    sample_weights = np.random.default_rng(seed + 50).uniform(0.0, 2.0, ROWS)
    logits, target = leaf(inputs["logits"]), const(inputs["target"], torch.long)
    per_row = F.cross_entropy(logits, target, weight=const(CLASS_WEIGHT), ignore_index=2, reduction="none")
    denominator = const(sample_weights) * const(CLASS_WEIGHT)[target.clamp(max=4)] * (target != 2)
    torch_loss = (const(sample_weights) * per_row).sum() / denominator.sum()
    result = compute("softmax_cross_entropy", inputs, params={"weight": CLASS_WEIGHT, "ignore_index": 2},
                     weights=sample_weights)
    compare("softmax_cross_entropy weight ignore_index + sample weights", result, torch_loss, {"logits": logits})


# --- sequences -------------------------------------------------------------------------------

LM_OPTIONS = [{"ignore_index": 3}, {"weight": VOCAB_WEIGHT}, {"weight": VOCAB_WEIGHT, "ignore_index": 3}]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", LM_OPTIONS, ids=["ignore_index", "weight", "both"])
def test_lm_nll_options(params, seed, reduction):
    inputs = sample("lm_nll", seed)
    logits = leaf(inputs["logits"])
    targets = const(inputs["targets"], torch.long)
    options = {key: const(value) if key == "weight" else value for key, value in params.items()}
    torch_loss = F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1), reduction=reduction, **options)
    if reduction == "none":
        torch_loss = torch_loss.reshape(targets.shape)
    compare(_label("lm_nll", params), compute("lm_nll", inputs, params=params, reduction=reduction),
            torch_loss, {"logits": logits})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", LM_OPTIONS, ids=["ignore_index", "weight", "both"])
def test_perplexity_options(params, seed):
    inputs = sample("perplexity", seed)
    logits = leaf(inputs["logits"])
    options = {key: const(value) if key == "weight" else value for key, value in params.items()}
    torch_loss = torch.exp(F.cross_entropy(logits.reshape(-1, 7), const(inputs["targets"], torch.long).reshape(-1),
                                           **options))
    compare(_label("perplexity", params), compute("perplexity", inputs, params=params), torch_loss, {"logits": logits})


# --- binary: pos_weight and focal on logits ---------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pos_weight", [(2.5,), (0.5, 1.0, 4.0)], ids=["scalar", "per-column"])
def test_bce_logits_pos_weight(pos_weight, seed, reduction):
    inputs = {key: array.reshape(8, 3) for key, array in sample("bce_logits", seed).items()}
    inputs["target"] = np.where(np.arange(24).reshape(8, 3) % 5 == 0, 0.3, inputs["target"])  # some soft labels
    logits = leaf(inputs["logits"] * 4.0)
    torch_loss = F.binary_cross_entropy_with_logits(logits, const(inputs["target"]), pos_weight=const(pos_weight),
                                                    reduction=reduction)
    result = compute("bce_logits", {**inputs, "logits": inputs["logits"] * 4.0}, params={"pos_weight": pos_weight},
                     reduction=reduction)
    compare(f"bce_logits pos_weight ({'scalar' if len(pos_weight) == 1 else 'per column'})", result, torch_loss,
            {"logits": logits})


FOCAL_PARAMS = [{}, {"gamma": 0.5}, {"alpha": -1.0}, {"alpha": 0.7, "gamma": 3.0}]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("params", FOCAL_PARAMS, ids=["defaults", "gamma0.5", "no-alpha", "alpha0.7-gamma3"])
def test_focal_logits_is_torchvision_sigmoid_focal_loss(params, soft, seed):
    inputs = sample("focal_logits", seed)
    if soft:
        inputs["target"] = np.random.default_rng(seed + 20).uniform(0.0, 1.0, ROWS)
    resolved = get_loss("focal_logits").resolve_params(params)
    logits = leaf(inputs["logits"])
    torch_loss = torchvision_sigmoid_focal_loss(logits, const(inputs["target"]), resolved["alpha"],
                                                resolved["gamma"]).mean()
    compare(_label("focal_logits", params), compute("focal_logits", inputs, params=params), torch_loss,
            {"logits": logits})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [{}, {"alpha": CLASS_WEIGHT, "gamma": 0.5}], ids=["defaults", "alpha-gamma"])
def test_softmax_focal_against_autograd_of_its_formula(params, seed):
    # torch has no multi-class focal loss: -α_y·(1 - p_t)^γ·log p_t in torch ops, differentiated by autograd
    inputs = sample("softmax_focal", seed)
    resolved = get_loss("softmax_focal").resolve_params(params)
    logits = leaf(inputs["logits"])
    target = const(inputs["target"], torch.long)
    log_p_t = torch.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
    alpha = resolved["alpha"][0] if len(resolved["alpha"]) == 1 else const(resolved["alpha"])[target]
    torch_loss = (-alpha * (1 - torch.exp(log_p_t)) ** resolved["gamma"] * log_p_t).mean()
    compare(f"{_label('softmax_focal', params)} (autograd of formula)", compute("softmax_focal", inputs, params=params),
            torch_loss, {"logits": logits})


# --- kl_div -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_batchmean(log_target, seed):
    inputs = sample("kl_div", seed, {"log_target": log_target})
    if not log_target:
        assert np.any(inputs["target"] == 0.0)  # 0·log 0 = 0 is compared too
    log_pred = leaf(inputs["log_pred"])
    torch_loss = F.kl_div(log_pred, const(inputs["target"]), reduction="batchmean", log_target=log_target)
    result = compute("kl_div", inputs, params={"log_target": log_target})
    compare(f"kl_div batchmean log_target={log_target}", result, torch_loss, {"log_pred": log_pred})


# --- margin losses ----------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "power"), [("hinge", 1), ("squared_hinge", 2)])
def test_hinge_is_twice_two_class_multi_margin_loss(name, power, seed, reduction):
    # multi_margin_loss of scores [0, x] with class (y+1)/2 is max(0, 1 - y·x)^p / 2 (C = 2 classes)
    inputs = sample(name, seed)
    scores = leaf(inputs["scores"])
    two_class = torch.stack([torch.zeros_like(scores), scores], dim=1)
    classes = const((inputs["target"] + 1) / 2, torch.long)
    torch_loss = 2 * F.multi_margin_loss(two_class, classes, p=power, margin=1.0, reduction=reduction)
    compare(f"{name} (2·multi_margin_loss)", compute(name, inputs, reduction=reduction), torch_loss,
            {"scores": scores})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_against_autograd_of_relu(name, seed):
    inputs = sample(name, seed)
    scores = leaf(inputs["scores"])
    hinge = torch.relu(1 - const(inputs["target"]) * scores)
    torch_loss = (hinge if name == "hinge" else hinge**2).mean()
    compare(f"{name} (autograd of relu(1 - y·x))", compute(name, inputs), torch_loss, {"scores": scores})


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("margin", [0.0, 0.5, -0.4])
def test_cosine_embedding_loss(margin, seed, reduction):
    inputs = sample("cosine", seed, {"margin": margin})
    x1, x2 = leaf(inputs["x1"]), leaf(inputs["x2"])
    torch_loss = F.cosine_embedding_loss(x1, x2, const(inputs["labels"]), margin=margin, reduction=reduction)
    result = compute("cosine", inputs, params={"margin": margin}, reduction=reduction)
    compare(f"cosine margin={margin:g}", result, torch_loss, {"x1": x1, "x2": x2})
