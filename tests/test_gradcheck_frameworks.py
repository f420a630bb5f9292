"""PyTorch and JAX losses through ``losscli.gradcheck``: autograd Functions, Modules and functions;
JAX custom_vjp / custom_jvp rules. Each right one passes; each with a 1 % slip in one branch, a
sign slip for one class or a missing factor fails, and the report points at the branch.
Skipped (with the conftest notice) when torch or jax is not installed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import FIXTURES, ROOT, run_program

import losscli
from losscli.errors import LossCliError
from losscli.usercode.loading import UserCodeError, require

TORCH = FIXTURES / "torch_losses.py"
JAX = FIXTURES / "jax_losses.py"


def check(target, like, **options):
    return losscli.gradcheck(target, like=like, **options)


def assert_class_2_sign_slip(result, rows=100):
    (logits,) = result.inputs
    assert not result.passed and logits.failed == rows  # class 2 of every row, nothing else
    for element in logits.worst:
        assert element.index[1] == 2 and element.ratio == pytest.approx(-1.0)


def assert_linear_branch_slip(result):
    (pred,) = result.inputs
    assert not result.passed and 0 < pred.failed < pred.checked
    for element in pred.worst:
        assert element.ratio == pytest.approx(1.01) and abs(element.inputs["pred"] - element.inputs["target"]) > 1


# --- PyTorch ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


SOFTMAX = {"torch": (TORCH, "SoftmaxCrossEntropy", "SoftmaxCrossEntropyClass2SignSlip"),
           "jax": (JAX, "softmax_cross_entropy", "softmax_cross_entropy_class2_sign_slip")}


@pytest.mark.parametrize("framework", list(SOFTMAX))
def test_softmax_cross_entropy_passes_row_batched_and_matches_the_registry(framework):
    pytest.importorskip(framework)
    path, right, _ = SOFTMAX[framework]
    result = check(f"{path}:{right}", "softmax_cross_entropy", against="softmax_cross_entropy")
    assert result.passed and result.framework == framework and result.method == "full"
    assert result.differentiated == "sum of your per-sample losses"
    assert result.against.matched_as == "per sample" and result.against.worst.relative < 1e-9


@pytest.mark.parametrize("framework", list(SOFTMAX))
def test_softmax_cross_entropy_sign_slip_for_one_class_fails(framework):
    pytest.importorskip(framework)
    path, _, slipped = SOFTMAX[framework]
    assert_class_2_sign_slip(check(f"{path}:{slipped}", "softmax_cross_entropy"))


@pytest.mark.parametrize("size", [10, 1000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_torch_function_one_percent_fails_at_every_size(torch, size):
    result = check(f"{TORCH}:SoftmaxCrossEntropyOnePercent", "softmax_cross_entropy", size=size)
    assert not result.passed and result.inputs[0].worst[0].ratio == pytest.approx(1.01, rel=1e-5)


def test_torch_function_one_percent_slip_in_one_branch_fails(torch):
    assert check(f"{TORCH}:Huber", "huber").passed
    assert_linear_branch_slip(check(f"{TORCH}:HuberLinearBranchOnePercent", "huber"))


def test_torch_function_missing_factor_fails(torch):
    result = check(f"{TORCH}:MSEMissingFactor2", "mse")
    assert not result.passed and result.inputs[0].failed == 100
    assert result.inputs[0].worst[0].ratio == pytest.approx(0.5)


def test_torch_module_and_plain_function_pass(torch):
    module = check(f"{TORCH}:SmoothL1Module", "huber", init={"beta": 1.0}, against="huber")
    assert module.passed and module.framework == "torch"
    function = check(f"{TORCH}:mse_per_sample", "mse", against="mse")
    assert function.passed and function.framework == "torch" and function.against.worst.relative == 0.0


def test_torch_function_objects_from_python(torch):
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, pred, target):
            ctx.save_for_backward(pred - target)
            return (pred - target) ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (residual,) = ctx.saved_tensors
            return grad_output * 3 * residual**2, None

    assert losscli.gradcheck(Cube, like="mse").passed


def test_torch_float32_and_complex_results_are_errors(torch):
    with pytest.raises(UserCodeError, match="mse_in_float32 computes in float32"):
        check(f"{TORCH}:mse_in_float32", "mse")
    with pytest.raises(UserCodeError, match=r"mse_complex returned complex values \(complex128\)"):
        check(f"{TORCH}:mse_complex", "mse")


def test_torch_backward_error_names_file_line_and_method(torch):
    with pytest.raises(UserCodeError) as raised:
        check(f"{TORCH}:RaisesInBackward", "mse")
    assert str(raised.value).startswith(f"{TORCH}:118: RuntimeError: backward exploded")
    assert "(raised in RaisesInBackward.backward)" in str(raised.value)


def test_torch_all_differentiable_inputs_are_checked(torch):
    # triplet's three embeddings: autograd gives every one of them.
    result = losscli.gradcheck(lambda a, p, n: torch.clamp((a - p).norm(dim=1) - (a - n).norm(dim=1) + 0.2, min=0),
                               like="triplet", framework="torch", params={"margin": 0.2})
    assert result.passed and [item.name for item in result.inputs] == ["anchor", "positive", "negative"]


# --- JAX ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax")


def test_jax_custom_vjp_one_percent_slip_in_one_branch_fails(jax):
    assert_linear_branch_slip(check(f"{JAX}:huber_mean", "huber"))


def test_jax_custom_jvp_missing_factor_fails(jax):
    result = check(f"{JAX}:mse_missing_factor2", "mse")
    assert not result.passed and result.inputs[0].worst[0].ratio == pytest.approx(0.5)


def test_jax_plain_function_passes_in_float64(jax):
    result = check(f"{JAX}:mse_plain", "mse", against="mse")
    assert result.passed and result.framework == "jax" and result.against.worst.relative < 1e-15


def test_jax_backward_error_names_file_line_and_method(jax):
    with pytest.raises(UserCodeError) as raised:
        check(f"{JAX}:raises_in_backward", "mse")
    assert str(raised.value).startswith(f"{JAX}:90: ValueError: bwd exploded (raised in _raising_backward)")


# --- without the frameworks ---------------------------------------------------------------------

@pytest.mark.parametrize("module, extra", [("torch", "torch"), ("jax", "jax")])
def test_a_missing_framework_names_its_extra(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(LossCliError, match=rf"^{module} is not installed: pip install 'losscli\[{extra}\]'$"):
        require(module)


def test_a_framework_forced_but_missing_exits_2_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(LossCliError, match=r"jax is not installed: pip install 'losscli\[jax\]'"):
        losscli.gradcheck(f"{FIXTURES / 'seed_losses.py'}:MSELoss", like="mse", framework="jax")


def test_checking_builtins_and_numpy_code_imports_neither_torch_nor_jax():
    code = ("import sys, losscli\n"
            f"losscli.gradcheck('mse'); losscli.gradcheck({str(FIXTURES / 'seed_losses.py:MSELoss')!r}, like='mse')\n"
            "print(sorted(m for m in ('torch', 'jax') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


# --- the command line (each run starts a child that imports the framework: seconds) ------------

@pytest.mark.slow
def test_cli_torch_function_exit_codes(torch):
    good = run_program("gradcheck", f"{TORCH}:SoftmaxCrossEntropy", "--like", "softmax_cross_entropy",
                       "--against", "softmax_cross_entropy")
    assert good.returncode == 0, good.stderr
    assert "PASSED" in good.stdout and "values vs softmax_cross_entropy (per sample)" in good.stdout
    bad = run_program("gradcheck", f"{TORCH}:SoftmaxCrossEntropyClass2SignSlip", "--like", "softmax_cross_entropy")
    assert bad.returncode == 1
    assert "FAILED: d/dlogits: 100 of 500 elements outside the tolerance" in bad.stdout
    assert "  at [0, 2]: analytic " in bad.stdout and "(ratio -1, " in bad.stdout


@pytest.mark.slow
def test_cli_jax_custom_vjp_exit_codes(jax):
    good = run_program("gradcheck", f"{JAX}:softmax_cross_entropy", "--like", "softmax_cross_entropy")
    assert good.returncode == 0, good.stderr
    bad = run_program("gradcheck", f"{JAX}:huber_mean", "--like", "huber", "--format", "json")
    assert bad.returncode == 1
    import json

    data = json.loads(bad.stdout)
    assert data["framework"] == "jax" and data["inputs"][0]["ratio"] == pytest.approx(1.01)


@pytest.mark.slow
def test_cli_user_code_error_in_backward_is_one_line(torch):
    done = run_program("gradcheck", f"{TORCH}:RaisesInBackward", "--like", "mse")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"Error: {TORCH}:118: RuntimeError: backward exploded "
                                   "(raised in RaisesInBackward.backward)")

