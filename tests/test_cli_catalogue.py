"""CLI tests for `losscli list`, `losscli describe` and the help of every command.

Generic over the registry: a loss added to the catalogue is listed, described and its example
command run with no edit here.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from support import run

from losscli.cli import common
from losscli.cli.app import app
from losscli.registry import LOSSES, names
from losscli.render.catalogue import example_command

ROOT = Path(__file__).resolve().parents[1]
LIST_KEYS = {"name", "aliases", "task", "inputs", "output_activation", "formula"}

def spec_id(spec) -> str:
    return spec.name


# --- list ------------------------------------------------------------------------------------


def test_list_table_names_every_loss(monkeypatch):
    # A wide console, so that no name is folded across lines of its cell.
    monkeypatch.setattr(common.stdout.real, "_width", 250)
    result = run("list")
    assert result.exit_code == 0, result.output
    cells = {cell.strip() for line in result.stdout.splitlines() for cell in line.split("│")}
    for spec in LOSSES:
        assert spec.name in cells, spec.name
        assert ", ".join(spec.aliases) in cells, spec.aliases


def test_list_json_has_one_entry_per_loss():
    result = run("list", "--format", "json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [entry["name"] for entry in entries] == list(names())
    for entry, spec in zip(entries, LOSSES, strict=True):
        assert set(entry) == LIST_KEYS
        assert entry["aliases"] == list(spec.aliases)
        assert entry["inputs"] == list(spec.input_names)
        assert entry["task"] == spec.task.value
        assert entry["formula"] and entry["output_activation"]


def test_list_json_of_the_seed_losses():
    entries = {entry["name"]: entry for entry in json.loads(run("list", "--format", "json").stdout)}
    assert entries["mse"]["aliases"] == ["l2", "mean_squared_error"]
    assert entries["mse"]["inputs"] == ["pred", "target"] and entries["mse"]["task"] == "regression"
    assert entries["triplet"]["inputs"] == ["anchor", "positive", "negative"]
    assert entries["bce"]["output_activation"] == "sigmoid"


def test_list_csv_joins_aliases_and_inputs():
    result = run("list", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["name"] for row in rows] == list(names())
    mse = rows[0]
    assert (mse["aliases"], mse["inputs"], mse["formula"]) == ("l2, mean_squared_error", "pred, target", "(ŷ - y)²")


def test_list_markdown_has_a_row_per_loss():
    result = run("list", "--format", "markdown")
    assert result.exit_code == 0, result.output
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table_rows) == 1 + len(LOSSES)  # header + one row per loss


# --- describe --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", LOSSES, ids=spec_id)
def test_describe_json_of_every_loss(spec):
    result = run("describe", spec.name, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == spec.name
    assert data["formula"] == spec.formula and data["gradient_formula"] == spec.gradient_formula
    assert data["when_to_use"]
    assert [item["name"] for item in data["inputs"]] == list(spec.input_names)
    assert all(item["shape"].startswith("[") for item in data["inputs"])
    expected = [[param.name, param.default, param.range_text()] for param in spec.params]
    assert [[param["name"], param["default"], param["range"]] for param in data["params"]] == json.loads(
        json.dumps(expected))  # through JSON: tuple defaults come back as lists
    assert data["example"] == example_command(spec)
    assert data["example"].startswith(f"losscli compute {spec.name} sample_data/")


@pytest.mark.parametrize("spec", LOSSES, ids=spec_id)
def test_describe_table_of_every_loss(spec):
    result = run("describe", spec.name)
    assert result.exit_code == 0, result.output
    for heading in ("formula", "gradient", "when to use", "example", "Inputs, in order"):
        assert heading in result.stdout, heading
    assert ("Parameters" in result.stdout) == bool(spec.params)


@pytest.mark.parametrize("spec", LOSSES, ids=spec_id)
def test_describe_markdown_shows_the_example_command(spec):
    result = run("describe", spec.name, "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert f"| example | {example_command(spec)} |" in result.stdout.splitlines()


@pytest.mark.parametrize(("loss", "params"), [
    ("huber", [("delta", 1.0, "> 0")]),
    ("focal", [("alpha", 0.25, ">= 0 and <= 1"), ("gamma", 2.0, ">= 0"), ("eps", 1e-15, None)]),
    ("infonce", [("temperature", 0.07, "> 0"), ("positive_idx", 0, ">= 0")]),
    ("mse", []),
])
def test_describe_parameters_defaults_and_ranges(loss, params):
    data = json.loads(run("describe", loss, "--format", "json").stdout)
    described = {param["name"]: (param["default"], param["range"]) for param in data["params"]}
    if not params:
        assert described == {}
    for name, default, expected_range in params:
        assert described[name][0] == default, name
        if expected_range is not None:
            assert described[name][1] == expected_range, name


@pytest.mark.parametrize("spec", LOSSES, ids=spec_id)
def test_describe_states_the_accurate_range_in_every_format(spec, monkeypatch):
    # JSON: the spec's line or null; the other formats: an "accurate range" row exactly when there is one
    monkeypatch.setattr(common.stdout.real, "_width", 400)  # the table cell on one line
    data = json.loads(run("describe", spec.name, "--format", "json").stdout)
    assert data["accurate_range"] == (spec.accurate_range or None)
    for fmt in ("table", "markdown", "csv"):
        output = run("describe", spec.name, "--format", fmt).stdout
        assert ("accurate range" in output) == bool(spec.accurate_range), fmt
        if spec.accurate_range:  # markdown escapes the pipes of |ŷ - y|, CSV doubles the quotes
            expected = spec.accurate_range.replace("|", "\\|") if fmt == "markdown" else spec.accurate_range
            assert expected in output.replace('""', '"'), fmt


def test_describe_accurate_range_by_hand():
    data = json.loads(run("describe", "perplexity", "--format", "json").stdout)
    assert data["accurate_range"] == ("inf once the mean NLL exceeds 709.78 (a perplexity above 1.8e308), as is "
                                      "the truth")
    assert json.loads(run("describe", "huber", "--format", "json").stdout)["accurate_range"] is None


def test_describe_resolves_aliases():
    data = json.loads(run("describe", "l2", "--format", "json").stdout)
    assert data["name"] == "mse" and data["aliases"] == ["l2", "mean_squared_error"]


def test_describe_unknown_loss_is_one_line_with_a_suggestion():
    result = run("describe", "hubr")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "Error: unknown loss 'hubr'; did you mean 'huber'? (see 'losscli list')\n"


@pytest.mark.parametrize("spec", LOSSES, ids=spec_id)
def test_every_example_command_runs(spec, monkeypatch):
    monkeypatch.chdir(ROOT)  # example commands use paths relative to the repository root
    program, *args = shlex.split(example_command(spec))
    assert program == "losscli"
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["loss"] == spec.name
    assert isinstance(data["value"], float) and math.isfinite(data["value"])
    assert set(data["params"]) == {param.name for param in spec.params}  # every resolved parameter


# --- help of every command -------------------------------------------------------------------


COMMANDS = sorted(typer.main.get_command(app).list_commands(None))


def test_the_issue_commands_are_registered():
    assert {"compute", "list", "describe"} <= set(COMMANDS)


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, flag):
    result = run(command, flag)
    assert result.exit_code == 0, result.output
    assert f" {command} [OPTIONS]" in result.stdout.splitlines()[0]
    assert "Example" in result.stdout, f"'losscli {command} --help' has no Example: add one to its docstring"


def help_examples(command: str) -> list[str]:
    """The example command lines of a command's help (the lines after 'Example:')."""
    lines = run(command, "--help").stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Example:"), None)
    if start is None:
        return []
    examples = []
    for line in lines[start + 1:]:
        if not line.strip().startswith("losscli "):
            break
        examples.append(line.strip())
    return examples


@pytest.mark.parametrize("command", ["compute", "list", "describe"])
def test_help_examples_stay_one_per_line_and_run(command, monkeypatch):
    # Regression: click rewrapped the Example block into one paragraph (no \b marker).
    examples = help_examples(command)
    assert examples, f"'losscli {command} --help' shows no example command on a line of its own"
    monkeypatch.chdir(ROOT)
    for example in examples:
        program, *args = shlex.split(example)
        result = run(*args)
        assert result.exit_code == 0, f"{example}: {result.output}"


def test_root_help_lists_every_command_and_has_an_example():
    result = run("--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    for command in COMMANDS:
        assert f"  {command} " in result.stdout


def test_version_starts_without_numpy():
    # Commands load on first use: --version must not pay for NumPy (nor pandas, pyarrow).
    code = "import sys; from losscli.cli import main; sys.argv = ['losscli', '--version']\n" \
           "try:\n    main()\nexcept SystemExit:\n    pass\n" \
           "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["losscli 0.1.0", "[]"]


@pytest.mark.parametrize("arguments", [["--help"], ["list"], ["describe", "huber"], ["compute", "--help"]])
def test_help_list_and_describe_import_neither_pandas_nor_pyarrow(arguments):
    code = (f"import sys; from losscli.cli import main; sys.argv = ['losscli', *{arguments!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('heavy:', sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "heavy: []"
