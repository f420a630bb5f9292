"""`losscli gradcheck` end to end: exit codes, tables, JSON shape, users' code and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import losscli
from losscli.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_losses.py"
BROKEN = FIXTURES / "broken_losses.py"
RAISING = FIXTURES / "raising_losses.py"

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["gradcheck", *map(str, args)], env={"COLUMNS": "200"})


def run_json(*args):
    result = run(*args, "--format", "json")
    return result, json.loads(result.stdout)


def test_all_prints_one_summary_table_and_exits_0():
    result = run("--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("gradcheck --all") == 1
    for spec in losscli.LOSSES:
        assert f"│ {spec.name} " in result.stdout
    assert result.stdout.strip().endswith(f"PASSED: all {len(losscli.LOSSES)} losses")


def test_all_as_json():
    result, data = run_json("--all", "--size", "20")
    assert result.exit_code == 0
    assert data["passed"] is True
    assert [loss["loss"] for loss in data["losses"]] == list(losscli.names())
    for loss, spec in zip(data["losses"], losscli.LOSSES, strict=True):
        assert [item["name"] for item in loss["inputs"]] == list(spec.differentiable_inputs)
        assert loss["settings"]["size"] == 20


def test_json_shape_of_one_loss():
    result, data = run_json("mse", "--size", "10", "--seed", "3")
    assert result.exit_code == 0
    assert list(data) == ["passed", "loss", "differentiated", "method", "settings", "inputs"]
    assert (data["passed"], data["loss"], data["differentiated"], data["method"]) == (
        True, "mse", "sum of per-sample losses", "full")
    assert data["settings"] == {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3, "mode": "auto", "directions": 5,
                                "seed": 3, "size": 10}
    (item,) = data["inputs"]
    assert set(item) == {"name", "method", "checked", "unit", "kinks", "max_abs_error", "max_rel_error",
                         "worst_index", "analytic", "numeric", "tolerance", "passed"}
    assert (item["name"], item["checked"], item["unit"], item["kinks"], item["passed"]) == (
        "pred", 10, "elements", 0, True)
    assert len(item["worst_index"]) == 1 and abs(item["analytic"] - item["numeric"]) <= item["tolerance"]


def test_table_names_every_input_and_the_verdict():
    result = run("triplet")
    assert result.exit_code == 0
    assert "gradcheck triplet: sum of per-sample losses, eps=1e-06 atol=1e-05 rtol=0.001" in result.stdout
    for name in ("anchor", "positive", "negative"):
        assert f"│ {name} " in result.stdout
    assert result.stdout.strip().endswith("PASSED")


def test_directional_mode_reports_directions():
    result, data = run_json("softmax_cross_entropy", "--mode", "directional", "--directions", "3")
    assert result.exit_code == 0
    assert (data["method"], data["inputs"][0]["checked"], data["inputs"][0]["unit"]) == ("directional", 3, "directions")


def test_inputs_from_files_with_a_kink(tmp_path):
    target = np.array([0.5, -1.0, 2.0, 0.0])
    pred = np.array([1.5, -1.0, 1.0, 0.25])  # row 1 sits exactly on |ŷ - y|'s kink
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "target.npy", target)
    result, data = run_json("mae", "--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy")
    assert result.exit_code == 0
    assert (data["inputs"][0]["checked"], data["inputs"][0]["kinks"]) == (3, 1)
    table = run("mae", "--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy")
    assert "PASSED (1 at kinks, left out of the verdict)" in table.stdout


def test_inputs_outside_the_domain_exit_2(tmp_path):
    np.save(tmp_path / "pred.npy", np.array([0.5, 1.5]))
    np.save(tmp_path / "target.npy", np.array([0.0, 1.0]))
    result = run("bce", "--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: pred") and "expected probabilities in [0, 1]" in result.stderr


# --- users' own code ----------------------------------------------------------------------------

@pytest.mark.parametrize("class_name, like", [
    ("MSELoss", "mse"), ("MAELoss", "mae"), ("HuberLoss", "huber"), ("BinaryCrossEntropyLoss", "bce"),
    ("CrossEntropyLoss", "cross_entropy"), ("SoftmaxCrossEntropyLoss", "softmax_cross_entropy"),
])
def test_seed_classes_pass_with_like(class_name, like):
    result, data = run_json(f"{SEED}:{class_name}", "--like", like)
    assert result.exit_code == 0, result.output
    assert data["passed"] is True and data["loss"] == f"{SEED}:{class_name}"
    assert data["method"] == "full, per element"
    one_hot_columns = 5 if like in ("cross_entropy", "softmax_cross_entropy") else 1
    assert data["inputs"][0]["checked"] == 100 * one_hot_columns


@pytest.mark.parametrize("obj, like", [
    ("MSEMissingFactor2", "mse"), ("MSESignFlip", "mse"), ("MSEOnePercentTooLarge", "mse"),
    ("HuberSwappedBranches", "huber"), ("mse_loss,mse_grad_one_percent_too_large", "mse"),
])
def test_broken_user_code_exits_1(obj, like):
    result = run(f"{BROKEN}:{obj}", "--like", like)
    assert result.exit_code == 1, result.output
    assert "FAILED: d/dpred at [" in result.stdout


@pytest.mark.parametrize("size", ["10", "1000", "100000"])
def test_user_gradient_one_percent_too_large_exits_1_at_every_size(size):
    assert run(f"{BROKEN}:mse_loss,mse_grad", "--like", "mse", "--size", size).exit_code == 0
    assert run(f"{BROKEN}:MSEOnePercentTooLarge", "--like", "mse", "--size", size).exit_code == 1


def test_init_and_params_reach_class_and_sampler():
    result, data = run_json(f"{SEED}:HuberLoss", "--like", "huber", "--init", "delta=2", "-p", "delta=2")
    assert result.exit_code == 0 and data["passed"] is True


def test_user_inputs_from_files(tmp_path):
    np.save(tmp_path / "pred.npy", np.array([1.0, 2.0, 4.0]))
    np.save(tmp_path / "true.npy", np.array([0.0, 2.5, 1.0]))
    files = ["--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "true.npy"]
    result, data = run_json(f"{SEED}:MSELoss", *files)
    assert result.exit_code == 0 and data["inputs"][0]["name"] == "y_pred"
    # MSE of the mean: dL/dŷ = 2(ŷ - y)/3 = [2/3, -1/3, 2]
    assert data["inputs"][0]["checked"] == 3
    assert run(f"{BROKEN}:MSEMissingFactor2", *files).exit_code == 1


def test_class_ids_for_user_code(tmp_path):
    code = tmp_path / "ids_loss.py"
    code.write_text(
        "import numpy as np\n\n"
        "def nll(logits, ids):\n"
        "    shifted = logits - logits.max(axis=1, keepdims=True)\n"
        "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n"
        "    return -log_probs[np.arange(len(ids)), ids].mean()\n\n"
        "def nll_grad(logits, ids):\n"
        "    probs = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
        "    probs /= probs.sum(axis=1, keepdims=True)\n"
        "    probs[np.arange(len(ids)), ids] -= 1.0\n"
        "    return probs / len(ids)\n")
    result = run(f"{code}:nll,nll_grad", "--like", "softmax_cross_entropy", "--target-format", "index")
    assert result.exit_code == 0, result.output


# --- errors: one line on stderr, exit 2 ---------------------------------------------------------

def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_user_exception_names_file_and_line():
    assert_one_line_error(run(f"{RAISING}:RaisesInForward", "--like", "mse"),
                          f"{RAISING}:8: ValueError: forward exploded (raised in RaisesInForward.forward)")
    assert_one_line_error(run(f"{RAISING}:RaisesInBackward", "--like", "mse"), f"{RAISING}:20: AttributeError")


def test_constructor_called_wrongly_points_at_the_class():
    assert_one_line_error(run(f"{RAISING}:NeedsArgument", "--like", "mse"),
                          f"{RAISING}:24: TypeError", "missing 1 required positional argument: 'delta'")


def test_errors_while_loading_name_the_line(tmp_path):
    syntax = tmp_path / "syntax.py"
    syntax.write_text("import numpy as np\n\ndef loss(:\n    pass\n")
    assert_one_line_error(run(f"{syntax}:loss,grad", "--like", "mse"), f"{syntax}:3: SyntaxError")
    crash = tmp_path / "crash.py"
    crash.write_text("x = 1\nraise RuntimeError('import-time failure')\n")
    assert_one_line_error(run(f"{crash}:Loss", "--like", "mse"), f"{crash}:2: RuntimeError: import-time failure")


def test_wrong_return_values_are_errors_not_failures():
    assert_one_line_error(run(f"{RAISING}:loss_with_bad_shape,grad_with_bad_shape", "--like", "mse"),
                          "loss_with_bad_shape returned an array of shape (100,), expected a scalar loss")


@pytest.mark.parametrize("args, fragment", [
    ([f"{FIXTURES}/no_such_file.py:Loss", "--like", "mse"], "no_such_file.py: no such file"),
    ([f"{SEED}:NoSuchLoss", "--like", "mse"], "has no attribute 'NoSuchLoss' (callables found: MSELoss"),
    ([f"{SEED}", "--like", "mse"], "expected FILE.py:ClassName or FILE.py:loss_fn,grad_fn"),
    ([f"{SEED}:MSELoss"], "your code needs inputs: --like LOSS"),
    ([f"{BROKEN}:mse_loss,mse_grad", "--like", "mse", "--init", "a=1"], "--init applies to a class"),
    ([], "give a LOSS or FILE.py:OBJ to check, or --all"),
    (["mse", "--all"], "give a LOSS or FILE.py:OBJ to check, or --all (not both)"),
    (["mse", "--like", "mae"], "--like applies to your own code"),
    (["mse", "--inputs", "a.npy", "--size", "5"], "--size draws random rows"),
    (["msee"], "unknown loss 'msee'; did you mean 'mse'?"),
    (["mse", "--eps", "0"], "--eps must be > 0"),
])
def test_usage_errors_exit_2(args, fragment):
    assert_one_line_error(run(*args), fragment)


def test_help_warns_that_the_file_is_executed_and_ends_with_an_example():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # help is wrapped at 80 columns
    assert "The file is Python code and is EXECUTED: only check files you trust." in text
    assert "Example:\n      losscli gradcheck focal\n      losscli gradcheck --all\n" in result.stdout
