"""Users' own NumPy loss code through ``losscli.gradcheck``: loading, verdicts at every scale,
--against, float32 and complex results, and the errors that name file:line."""

from __future__ import annotations

import numpy as np
import pytest
from support import FIXTURES

import losscli
from losscli.errors import LossCliError
from losscli.usercode import check as user_check
from losscli.usercode import is_user_code
from losscli.usercode.base import computed_in_float32
from losscli.usercode.loading import UserCodeError, parse_init

SEED_FILE = FIXTURES / "seed_losses.py"
BROKEN_FILE = FIXTURES / "broken_losses.py"
RAISING_FILE = FIXTURES / "raising_losses.py"

SEED_CLASSES = [("MSELoss", "mse"), ("MAELoss", "mae"), ("HuberLoss", "huber"), ("BinaryCrossEntropyLoss", "bce"),
                ("CrossEntropyLoss", "cross_entropy"), ("SoftmaxCrossEntropyLoss", "softmax_cross_entropy")]
BROKEN = ["MSEMissingFactor2", "MSESignFlip", "MSEOnePercentTooLarge", "mse_loss,mse_grad_one_percent_too_large"]


@pytest.mark.parametrize("class_name, like", SEED_CLASSES)
def test_seed_classes_pass(class_name, like):
    result = losscli.gradcheck(f"{SEED_FILE}:{class_name}", like=like, size=40)
    assert result.passed, result
    assert result.framework == "numpy" and result.differentiated == "the scalar your code returns"
    check = result.inputs[0]
    assert check.method == "full, per element" and check.failed == 0 and check.checked > 0


@pytest.mark.parametrize("size", [10, 1000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_user_gradient_one_percent_too_large_fails_at_every_size(size):
    good = losscli.gradcheck(f"{BROKEN_FILE}:mse_loss,mse_grad", like="mse", size=size)
    bad = losscli.gradcheck(f"{BROKEN_FILE}:mse_loss,mse_grad_one_percent_too_large", like="mse", size=size)
    assert good.passed and not bad.passed
    assert bad.inputs[0].method == ("directional" if size > 2000 else "full, per element")
    assert bad.inputs[0].worst[0].ratio == pytest.approx(1.01, rel=1e-5)


def _scaled_regression(scale: float, rows: int = 30):
    rng = np.random.default_rng(4)
    return [scale * rng.normal(size=rows), scale * rng.normal(size=rows)]


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3, 1e6, 1e8])
def test_fixtures_fail_and_seed_passes_at_every_scale(scale):
    """Issue 12: MSESignFlip passed at 1e8 and a 1 % error at 1e6 (the tolerance grew with |f|/h)."""
    inputs = _scaled_regression(scale)
    assert losscli.gradcheck(f"{SEED_FILE}:MSELoss", inputs).passed
    assert losscli.gradcheck(f"{BROKEN_FILE}:mse_loss,mse_grad", inputs).passed
    for name in BROKEN:
        result = losscli.gradcheck(f"{BROKEN_FILE}:{name}", inputs)
        assert not result.passed and result.inputs[0].failed == 30, (name, scale)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e8])
def test_huber_swapped_branches_fail_and_seed_huber_passes_at_every_scale(scale):
    rng = np.random.default_rng(5)
    target = scale * rng.normal(size=40)
    residual = scale * np.where(rng.random(40) < 0.5, rng.uniform(0.1, 0.9, 40), rng.uniform(1.1, 3.0, 40))
    inputs = [target + rng.choice([-1.0, 1.0], 40) * residual, target]
    init = {"delta": scale}
    assert losscli.gradcheck(f"{SEED_FILE}:HuberLoss", inputs, init=init).passed
    assert not losscli.gradcheck(f"{BROKEN_FILE}:HuberSwappedBranches", inputs, init=init).passed


def test_against_matches_a_mean_and_reports_the_worst_case():
    result = losscli.gradcheck(f"{SEED_FILE}:MSELoss", against="mse", size=20)
    comparison = result.against
    assert result.passed and comparison.passed and comparison.matched_as == "mean"
    assert [case.case for case in comparison.cases] == ["check inputs", "real inputs x100", "real inputs x10000"]
    assert comparison.worst.relative < 1e-12


def test_against_a_different_loss_fails_with_the_values():
    # The seed's MAE is not MSE: the values differ, the gradient is right for what it computes.
    result = losscli.gradcheck(f"{SEED_FILE}:MAELoss", against="mse", size=20)
    assert result.inputs[0].passed and not result.against.passed and not result.passed
    worst = result.against.worst
    assert worst.relative > 0.5 and worst.yours != worst.reference


def test_against_finds_a_naive_formula_at_extreme_inputs(tmp_path):
    # log(1 + exp(-y·x)) overflows at large logits (exp(710) = inf), the registered loss does not.
    code = tmp_path / "naive.py"
    code.write_text("import numpy as np\n\n"
                    "def loss(logits, labels):\n"
                    "    return np.log(1 + np.exp(-(2 * labels - 1) * logits))\n\n"
                    "def grad(logits, labels):\n"
                    "    signed = 2 * labels - 1\n"
                    "    return -signed / (1 + np.exp(signed * logits))\n")
    with np.errstate(over="ignore"):
        result = losscli.gradcheck(f"{code}:loss,grad", against="bce_logits", size=50)
    assert result.inputs[0].passed and not result.against.passed
    assert result.against.matched_as == "per sample" and result.against.worst.case == "real inputs x10000"


def test_results_that_are_exact_float32_numbers_are_reported():
    rng = np.random.default_rng(0)
    values = rng.normal(size=20)
    assert computed_in_float32(values.astype(np.float32).astype(np.float64))
    assert not computed_in_float32(values)
    assert not computed_in_float32(np.array([0.5, 0.25, 4.0, 1.0] * 5))  # too simple to tell


def test_float32_and_complex_results_are_errors(tmp_path):
    code = tmp_path / "precision.py"
    code.write_text("import numpy as np\n\n"
                    "def loss32(p, t):\n    return np.mean((p.astype(np.float32) - t) ** 2)\n\n"
                    "def grad32(p, t):\n    return (2 * (p - t) / p.size).astype(np.float32)\n\n"
                    "def loss_cast(p, t):\n"
                    "    return float(np.mean((p.astype(np.float32) - t.astype(np.float32)) ** 2))\n\n"
                    "def grad_cast(p, t):\n    return (2 * (p.astype(np.float32) - t.astype(np.float32)) / p.size)"
                    ".astype(np.float64)\n\n"
                    "def loss_complex(p, t):\n    return np.mean((p - t) ** 2) + 0j\n")
    with pytest.raises(UserCodeError, match="grad32 computes in float32: given float64 inputs it returned float32"):
        losscli.gradcheck(f"{code}:loss32,grad32", like="mse")
    with pytest.raises(UserCodeError, match="loss_cast,grad_cast computes in float32: every loss and gradient"):
        losscli.gradcheck(f"{code}:loss_cast,grad_cast", like="mse")
    with pytest.raises(UserCodeError, match=r"loss_complex returned complex values \(complex128\)"):
        losscli.gradcheck(f"{code}:loss_complex,grad_cast", like="mse")


def test_python_objects_are_checked_directly():
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_losses_for_test", SEED_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert losscli.gradcheck(module.HuberLoss, like="huber").passed
    broken = importlib.util.spec_from_file_location("broken_losses_for_test", BROKEN_FILE)
    broken_module = importlib.util.module_from_spec(broken)
    broken.loader.exec_module(broken_module)
    pair = (broken_module.mse_loss, broken_module.mse_grad_one_percent_too_large)
    assert not losscli.gradcheck(pair, like="mse").passed


def test_borrowed_class_targets_become_one_hot_or_integer_ids():
    arrays = user_check.borrow_inputs("cross_entropy", size=4, seed=2)
    onehot = user_check.shaped_for_user("cross_entropy", arrays)
    ids = user_check.shaped_for_user("cross_entropy", arrays, "index")
    assert onehot["target"].shape == (4, 5) and ids["target"].dtype == np.int64
    np.testing.assert_array_equal(onehot["target"].argmax(axis=1), ids["target"])
    np.testing.assert_array_equal(onehot["target"].sum(axis=1), np.ones(4))


@pytest.mark.parametrize("text, expected", [
    ("mse", False), ("softmax-ce", False), ("my.py:Loss", True), ("dir/my.py:f,g", True), ("my.py", True)])
def test_user_code_is_told_apart_from_loss_names(text, expected):
    assert is_user_code(text) is expected


def test_init_values_are_python_literals():
    assert parse_init(["delta=2", "eps=1e-7", "name=plain text"]) == {"delta": 2, "eps": 1e-7, "name": "plain text"}
    with pytest.raises(LossCliError, match="expected --init KEY=VALUE"):
        parse_init(["delta"])
    with pytest.raises(LossCliError, match="--init delta is given twice"):
        parse_init(["delta=1", "delta=2"])


def test_gradcheck_is_the_packages_function_even_after_the_cli_loads():
    import inspect

    import losscli.cli.gradcheck  # noqa: F401 - a submodule named gradcheck must not shadow the function

    assert inspect.isfunction(losscli.gradcheck) and "gradcheck" in losscli.__all__


def test_user_exception_names_file_line_and_method():
    with pytest.raises(UserCodeError) as raised:
        losscli.gradcheck(f"{RAISING_FILE}:RaisesInBackward", like="mse", size=5)
    assert str(raised.value).startswith(f"{RAISING_FILE}:20: AttributeError:")
    assert str(raised.value).endswith("(raised in RaisesInBackward.backward)")


def test_user_code_gets_copies_of_the_inputs():
    arrays = user_check.borrow_inputs("mse", size=5)
    before = {name: value.copy() for name, value in arrays.items()}
    losscli.gradcheck(f"{SEED_FILE}:MSELoss", arrays, like="mse")
    for name, value in arrays.items():
        np.testing.assert_array_equal(value, before[name])


def test_readme_python_gradcheck_examples_run(monkeypatch):
    import re

    from support import ROOT

    monkeypatch.chdir(ROOT)
    blocks = [block for block in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
              if "losscli.gradcheck" in block]
    assert len(blocks) == 2
    namespace: dict = {}
    exec(blocks[0], namespace)  # noqa: S102 - the README's own example
    result = namespace["result"]  # the README's comments: False, 100, 1.01
    assert (result.passed, result.inputs[0].failed) == (False, 100)
    assert result.inputs[0].worst[0].ratio == pytest.approx(1.01, rel=1e-6)
    pytest.importorskip("torch")
    exec(blocks[1], namespace)  # noqa: S102
    namespace["test_softmax_backward"]()
