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
