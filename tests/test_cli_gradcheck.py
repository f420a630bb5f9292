"""`losscli gradcheck` end to end: exit codes, tables, JSON shape, users' code and its errors.

User code runs in a child process (python -m losscli.usercode.child): tests that need its real
stdout and exit status use ``run_program``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import FIXTURES, assert_bad_input, run, run_program

import losscli

SEED = FIXTURES / "seed_losses.py"
BROKEN = FIXTURES / "broken_losses.py"
RAISING = FIXTURES / "raising_losses.py"
HOSTILE = FIXTURES / "hostile_losses.py"
WIDE = {"COLUMNS": "250"}


def gradcheck(*args):
    return run("gradcheck", *args, env=WIDE)


def gradcheck_json(*args):
    result = gradcheck(*args, "--format", "json")
    return result, json.loads(result.stdout)


def test_all_prints_one_summary_table_and_exits_0():
    result = gradcheck("--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("gradcheck --all") == 1
    for spec in losscli.LOSSES:
        assert f"│ {spec.name} " in result.stdout
    assert result.stdout.strip().endswith(f"PASSED: all {len(losscli.LOSSES)} losses")


def test_all_as_json():
    result, data = gradcheck_json("--all", "--size", "20")
    assert result.exit_code == 0
    assert data["passed"] is True
    assert [loss["loss"] for loss in data["losses"]] == list(losscli.names())
    for loss, spec in zip(data["losses"], losscli.LOSSES, strict=True):
        assert [item["name"] for item in loss["inputs"]] == list(spec.differentiable_inputs)
        assert loss["settings"]["size"] == 20


def test_json_shape_of_one_loss():
    result, data = gradcheck_json("mse", "--size", "10", "--seed", "3")
    assert result.exit_code == 0
    assert list(data) == ["passed", "loss", "differentiated", "method", "framework", "settings", "inputs", "against"]
    assert (data["passed"], data["loss"], data["differentiated"], data["method"], data["framework"]) == (
        True, "mse", "sum of per-sample losses", "full", None)
    assert data["settings"] == {"eps": 1e-6, "atol": 0.0, "rtol": 1e-3, "mode": "auto", "directions": 5,
                                "seed": 3, "size": 10}
    (item,) = data["inputs"]
    assert set(item) == {"name", "method", "checked", "unit", "kinks", "below_noise", "failed", "max_abs_error",
                         "max_rel_error", "worst_index", "analytic", "numeric", "ratio", "tolerance", "worst_inputs",
                         "worst", "passed"}
    assert (item["name"], item["checked"], item["unit"], item["kinks"], item["failed"], item["passed"]) == (
        "pred", 10, "elements", 0, 0, True)
    assert len(item["worst_index"]) == 1 and abs(item["analytic"] - item["numeric"]) <= item["tolerance"]
    assert set(item["worst_inputs"]) == {"pred", "target"} and len(item["worst"]) == 3


def test_table_names_every_input_and_the_verdict():
    result = gradcheck("triplet")
    assert result.exit_code == 0
    assert "gradcheck triplet: sum of per-sample losses, eps=1e-06 rtol=0.001" in result.stdout
    for name in ("anchor", "positive", "negative"):
        assert f"│ {name} " in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("PASSED")


def test_directional_mode_reports_directions():
    result, data = gradcheck_json("softmax_cross_entropy", "--mode", "directional", "--directions", "3")
    assert result.exit_code == 0
    assert (data["method"], data["inputs"][0]["checked"], data["inputs"][0]["unit"]) == ("directional", 3, "directions")


def test_inputs_from_files_with_a_kink(tmp_path):
    target = np.array([0.5, -1.0, 2.0, 0.0])
    pred = np.array([1.5, -1.0, 1.0, 0.25])  # row 1 sits exactly on |ŷ - y|'s kink
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "target.npy", target)
    files = ["--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy"]
    result, data = gradcheck_json("mae", *files)
    assert result.exit_code == 0
    assert (data["inputs"][0]["checked"], data["inputs"][0]["kinks"]) == (3, 1)
    assert "PASSED (1 at kinks, left out of the verdict)" in gradcheck("mae", *files).stdout


def test_inputs_from_one_file_with_col(tmp_path):
    # Issue 13: without --col, pred and target would be read from the same column.
    (tmp_path / "eval.csv").write_text("yhat,y\n1.5,1.0\n2.5,2.0\n3.5,3.0\n4.0,100.0\n")
    result, data = gradcheck_json("mse", "--inputs", tmp_path / "eval.csv", "--col", "pred=yhat", "--col", "target=y")
    assert result.exit_code == 0, result.output
    # d/dŷ (ŷ - y)² = 2(ŷ - y): 1, 1, 1, -192; the worst elements carry both columns' values
    worst = {tuple(e["index"]): (e["analytic"], e["inputs"]) for e in data["inputs"][0]["worst"]}
    assert worst[(3,)] == (-192.0, {"pred": 4.0, "target": 100.0})


def test_inputs_from_one_file_without_col_for_each_input_exit_2(tmp_path):
    (tmp_path / "eval.csv").write_text("yhat,y\n1.5,1.0\n")
    assert_bad_input(gradcheck("mse", "--inputs", tmp_path / "eval.csv", "--col", "pred=yhat"), "missing --col target")


def test_inputs_outside_the_domain_exit_2(tmp_path):
    np.save(tmp_path / "pred.npy", np.array([0.5, 1.5]))
    np.save(tmp_path / "target.npy", np.array([0.0, 1.0]))
    result = gradcheck("bce", "--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy")
    assert_bad_input(result, "Error: pred", "expected probabilities in [0, 1]")


def test_nothing_checked_exits_2(tmp_path):
    np.save(tmp_path / "pred.npy", np.array([1.0, 2.0, 3.0]))
    np.save(tmp_path / "target.npy", np.array([1.0, 2.0, 3.0]))
    result = gradcheck("mae", "--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "target.npy")
    assert_bad_input(result, "mae: 0 elements of pred checked: 3 at a kink")


@pytest.mark.parametrize("args, fragment", [
    (["mse", "--eps", "1e-300"], "--eps 1e-300 is too small for pred: x + h rounds to x"),
    (["logcosh", "--eps", "1e-14"], "cannot resolve rtol on"),
])
def test_untrustworthy_steps_exit_2(args, fragment):
    assert_bad_input(gradcheck(*args), fragment)


def test_a_failing_report_gives_counts_ratio_and_inputs():
    result = gradcheck(f"{BROKEN}:HuberSwappedBranches", "--like", "huber")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    failed = next(line for line in lines if line.startswith("FAILED: d/dpred: "))
    assert failed == "FAILED: d/dpred: 100 of 100 elements outside the tolerance"
    details = [line for line in lines if line.startswith("  at [")]
    assert len(details) == 3
    for line in details:
        assert "analytic " in line and " vs numeric " in line and "(ratio " in line
        assert "; inputs there: pred = " in line and ", target = " in line


# --- users' own code ----------------------------------------------------------------------------

@pytest.mark.parametrize("class_name, like", [
    ("MSELoss", "mse"), ("BinaryCrossEntropyLoss", "bce"), ("SoftmaxCrossEntropyLoss", "softmax_cross_entropy"),
])
def test_seed_classes_pass_with_like(class_name, like):
    result, data = gradcheck_json(f"{SEED}:{class_name}", "--like", like)
    assert result.exit_code == 0, result.output
    assert data["passed"] is True and data["loss"] == f"{SEED}:{class_name}" and data["framework"] == "numpy"
    one_hot_columns = 5 if like == "softmax_cross_entropy" else 1
    item = data["inputs"][0]
    assert item["checked"] + item["below_noise"] + item["kinks"] == 100 * one_hot_columns


@pytest.mark.parametrize("obj, like", [
    ("MSEMissingFactor2", "mse"), ("MSESignFlip", "mse"), ("MSEOnePercentTooLarge", "mse"),
    ("HuberSwappedBranches", "huber"), ("mse_loss,mse_grad_one_percent_too_large", "mse"),
])
def test_broken_user_code_exits_1(obj, like):
    result = gradcheck(f"{BROKEN}:{obj}", "--like", like)
    assert result.exit_code == 1, result.output
    assert "FAILED: d/dpred: " in result.stdout


def test_against_passes_and_fails_on_values():
    good = gradcheck(f"{SEED}:MSELoss", "--against", "mse")
    assert good.exit_code == 0, good.output
    assert "values vs mse (mean): worst relative difference 0 on check inputs" in good.stdout
    bad = gradcheck(f"{SEED}:MAELoss", "--against", "mse", "--value-tol", "1e-3")
    assert bad.exit_code == 1
    assert "FAILED: values vs mse (mean): worst relative difference" in bad.stdout


def test_init_and_params_reach_class_and_sampler():
    result, data = gradcheck_json(f"{SEED}:HuberLoss", "--like", "huber", "--init", "delta=2", "-p", "delta=2")
    assert result.exit_code == 0 and data["passed"] is True


def test_user_inputs_from_files(tmp_path):
    np.save(tmp_path / "pred.npy", np.array([1.0, 2.0, 4.0]))
    np.save(tmp_path / "true.npy", np.array([0.0, 2.5, 1.0]))
    files = ["--inputs", tmp_path / "pred.npy", "--inputs", tmp_path / "true.npy"]
    result, data = gradcheck_json(f"{SEED}:MSELoss", *files)
    assert result.exit_code == 0 and data["inputs"][0]["name"] == "y_pred"
    # MSE of the mean: dL/dŷ = 2(ŷ - y)/3 = [2/3, -1/3, 2]: every element compared
    assert data["inputs"][0]["checked"] == 3
    assert gradcheck(f"{BROKEN}:MSEMissingFactor2", *files).exit_code == 1


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
    result = gradcheck(f"{code}:nll,nll_grad", "--like", "softmax_cross_entropy", "--target-format", "index")
    assert result.exit_code == 0, result.output


# --- user code cannot fake a verdict (issue 12 item 7) ------------------------------------------

def test_what_user_code_prints_goes_to_stderr_and_json_stays_valid():
    done = run_program("gradcheck", f"{HOSTILE}:loss_printing,grad_right", "--like", "mse", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passed"] is True
    assert '{"passed": true}' in done.stderr


@pytest.mark.parametrize("grad_fn, fragment", [
    ("grad_wrong_after_exit", "ended the check's process (exit status 0) before a verdict"),
    ("grad_wrong_after_sys_exit", f"{HOSTILE}:23: SystemExit: 0 (raised in grad_wrong_after_sys_exit)"),
])
def test_exiting_user_code_cannot_produce_exit_0(grad_fn, fragment):
    done = run_program("gradcheck", f"{HOSTILE}:loss_printing,{grad_fn}", "--like", "mse")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith("Error: ") and fragment in done.stderr.splitlines()[-1]


@pytest.mark.slow
def test_user_code_that_never_returns_stops_at_the_timeout():
    done = run_program("gradcheck", f"{HOSTILE}:loss_forever,grad_right", "--like", "mse", "--timeout", "1")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"Error: {HOSTILE}:loss_forever,grad_right did not return within 1 s "
                                   "(--timeout); stopped it")


# --- errors: one line on stderr, exit 2 ---------------------------------------------------------

def test_user_exception_names_file_and_line():
    assert_bad_input(gradcheck(f"{RAISING}:RaisesInForward", "--like", "mse"),
                     f"{RAISING}:8: ValueError: forward exploded (raised in RaisesInForward.forward)")
    assert_bad_input(gradcheck(f"{RAISING}:RaisesInBackward", "--like", "mse"), f"{RAISING}:20: AttributeError")


def test_constructor_called_wrongly_points_at_the_class():
    assert_bad_input(gradcheck(f"{RAISING}:NeedsArgument", "--like", "mse"),
                     f"{RAISING}:24: TypeError", "missing 1 required positional argument: 'delta'")


def test_errors_while_loading_name_the_line(tmp_path):
    syntax = tmp_path / "syntax.py"
    syntax.write_text("import numpy as np\n\ndef loss(:\n    pass\n")
    assert_bad_input(gradcheck(f"{syntax}:loss,grad", "--like", "mse"), f"{syntax}:3: SyntaxError")
    crash = tmp_path / "crash.py"
    crash.write_text("x = 1\nraise RuntimeError('import-time failure')\n")
    assert_bad_input(gradcheck(f"{crash}:Loss", "--like", "mse"), f"{crash}:2: RuntimeError: import-time failure")


def test_a_missing_framework_import_names_the_extra(tmp_path):
    code = tmp_path / "needs.py"
    code.write_text("import losscli_no_such_framework\n")
    assert_bad_input(gradcheck(f"{code}:f", "--like", "mse"), f"{code}:1: ModuleNotFoundError")


@pytest.mark.parametrize("args, fragment", [
    ([f"{RAISING}:loss_with_bad_shape,grad_with_bad_shape", "--like", "mse"],
     "expected a gradient of shape (100,) for pred, got (99,)"),
    ([f"{HOSTILE}:loss_complex,grad_right", "--like", "mse"], "loss_complex returned complex values (complex128)"),
    ([f"{SEED}:MSELoss", "--like", "mse", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["mse", "--seed", "-1"], "--seed must be >= 0, got -1"),
    ([f"{FIXTURES}/no_such_file.py:Loss", "--like", "mse"], "no_such_file.py: no such file"),
    ([f"{SEED}:NoSuchLoss", "--like", "mse"], "has no attribute 'NoSuchLoss' (callables found: MSELoss"),
    ([f"{SEED}", "--like", "mse"], "expected FILE.py:NAME or FILE.py:loss_fn,grad_fn"),
    ([f"{SEED}:MSELoss"], "your code needs inputs: --like LOSS"),
    ([f"{BROKEN}:mse_loss,mse_grad", "--like", "mse", "--init", "a=1"], "--init applies to a class"),
    ([f"{SEED}:MSELoss", "--like", "mse", "--against", "mae"], "against 'mae' and like 'mse' differ"),
    ([f"{SEED}:MSELoss", "--like", "mse", "--timeout", "0"], "--timeout must be a number of seconds > 0"),
    ([], "give a LOSS or FILE.py:OBJ to check, or --all"),
    (["mse", "--all"], "give a LOSS or FILE.py:OBJ to check, or --all (not both)"),
    (["mse", "--like", "mae"], "--like applies to your own code"),
    (["mse", "--against", "mse"], "--against applies to your own code"),
    (["mse", "--framework", "torch"], "--framework applies to your own code"),
    (["mse", "--col", "pred=a"], "--col picks columns of --inputs files"),
    (["mse", "--inputs", "a.npy", "--size", "5"], "--size draws random rows"),
    (["msee"], "unknown loss 'msee'; did you mean 'mse'?"),
    (["mse", "--eps", "0"], "--eps must be > 0"),
])
def test_usage_errors_exit_2(args, fragment):
    assert_bad_input(gradcheck(*args), fragment)


def test_help_warns_that_the_file_is_executed_and_ends_with_an_example():
    result = gradcheck("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # help is wrapped at 80 columns
    assert "The file is Python code and is EXECUTED (in a child process): only check files you trust." in text
    assert "Example:\n      losscli gradcheck focal\n      losscli gradcheck --all\n" in result.stdout
