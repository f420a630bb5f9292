"""Every command in README.md's console blocks runs, and prints what the README shows.

Blocks look like::

    $ losscli compute ...
    <expected output>

Run with LOSSCLI_UPDATE_README=1 to rewrite the expected outputs from real runs (then review
the diff).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def parse_examples(text: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs from every console block."""
    examples = []
    for block in BLOCK.findall(text):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def run(command: str) -> str:
    """Run a README command with `losscli` meaning this interpreter's package under test
    (`python -m losscli`), never whatever losscli is first on PATH."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "LOSSCLI_PYTHON": sys.executable}
    define = 'losscli() { "$LOSSCLI_PYTHON" -m losscli "$@"; }; export -f losscli; '
    completed = subprocess.run(["bash", "-c", f"{define}{command} 2>&1"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    return completed.stdout


EXAMPLES = parse_examples(README.read_text(encoding="utf-8"))


def test_readme_has_examples_for_every_loss_family():
    commands = " ".join(command for command, _ in EXAMPLES)
    for loss in ("mse", "bce", "softmax_cross_entropy", "triplet", "infonce", "perplexity"):
        assert f"compute {loss} " in commands


def test_readme_opens_with_the_two_setup_commands():
    head = README.read_text(encoding="utf-8")[:600]
    assert "make demo" in head and "make test" in head


QUICK_START = re.compile(r"## Quick start on your own files\n.*?```sh\n(.*?)```", re.S)
# The quick start's stand-in names for the reader's files, and the bundled files the test uses.
STAND_INS = {"preds.csv": "sample_data/outliers_pred.csv", "targets.csv": "sample_data/outliers_target.csv",
             "eval.parquet": "sample_data/eval.parquet", "my_losses.py": "tests/fixtures/seed_losses.py"}


@pytest.mark.slow
def test_quick_start_runs_on_the_bundled_files(tmp_path):
    """Every quick-start line exits 0 with the sample files in place of the reader's (outputs and
    the history log written to a scratch directory, in order: the baseline line reads the log)."""
    lines = QUICK_START.search(README.read_text(encoding="utf-8")).group(1).splitlines()
    assert 8 <= len(lines) <= 12
    for line in lines:
        command = line.split("  #")[0]
        for name, sample in STAND_INS.items():
            command = command.replace(name, str(ROOT / sample))
        env = {**os.environ, "LOSSCLI_PYTHON": sys.executable, "GIT_COMMIT": "abc123"}
        define = 'losscli() { "$LOSSCLI_PYTHON" -m losscli "$@"; }; '
        completed = subprocess.run(["bash", "-c", define + command], cwd=tmp_path, env=env, capture_output=True,
                                   text=True, timeout=120)
        assert completed.returncode == 0, f"{line}\n{completed.stderr}"
    assert (tmp_path / "losses.csv").exists() and (tmp_path / "history.jsonl").exists()


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("block", PYTHON_BLOCK.findall(README.read_text(encoding="utf-8")))
def test_readme_python_examples_run_and_show_their_values(block, monkeypatch):
    """Every Python block runs; a line `EXPRESSION  # VALUE` (a number, True/False or a string)
    evaluates to the value it shows."""
    import ast

    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        try:
            shown = ast.literal_eval(comment.strip())
        except (ValueError, SyntaxError):
            continue  # a comment in words
        number = isinstance(shown, int | float) and not isinstance(shown, bool)
        assert eval(code, namespace) == (pytest.approx(shown, rel=1e-12) if number else shown), line


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def same_output(actual: str, expected: str) -> bool:
    """Equal text, and equal full-precision numbers up to 1e-9 relative (last-bit float noise)."""
    if NUMBER.split(actual) != NUMBER.split(expected):
        return False
    pairs = zip(NUMBER.findall(actual), NUMBER.findall(expected), strict=True)
    return all(abs(float(a) - float(b)) <= 1e-9 * max(abs(float(b)), 1e-300) for a, b in pairs)


def test_same_output_tolerates_only_float_noise():
    assert same_output("mse,2304.1875000000002\n", "mse,2304.1875\n")
    assert not same_output("mse,2304.19\n", "mse,2304.1875\n")
    assert not same_output("mae,2304.1875\n", "mse,2304.1875\n")


@pytest.mark.slow
@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[command[:60] for command, _ in EXAMPLES])
def test_readme_example(command, expected):
    actual = run(command)
    assert same_output(actual, expected), f"README example changed output: {command}\n{actual}"


if __name__ == "__main__" and os.environ.get("LOSSCLI_UPDATE_README"):
    text = README.read_text(encoding="utf-8")

    def refresh(match):
        body = match.group(1)
        commands = [chunk.partition("\n")[0] for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]]
        return "```console\n" + "".join(f"$ {command}\n{run(command)}" for command in commands) + "```"

    README.write_text(BLOCK.sub(refresh, text), encoding="utf-8")
