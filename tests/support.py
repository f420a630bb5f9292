"""Helpers shared by the test modules: paths, running the CLI in-process or as a program.

Fixtures live in ``conftest.py``; plain functions live here so that test modules import them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOSSCLI = (sys.executable, "-m", "losscli")  # the package under test, never whatever is on PATH

_runner = CliRunner()


def run(*args, input: str | bytes | None = None, env: dict[str, str] | None = None):
    """Invoke the app in-process; an exception other than the exit itself is a bug (CliRunner
    hides its traceback)."""
    from losscli.cli.app import app

    result = _runner.invoke(app, [str(arg) for arg in args], input=input, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def program_env(**extra: str) -> dict[str, str]:
    """The environment of a losscli subprocess: no terminal width, no colours, no CI hints."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "CI", "FORCE_COLOR")}
    env.update(extra)
    return env


def run_program(*args, input: str | bytes | None = None, env: dict[str, str] | None = None,
                timeout: float = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``python -m losscli ARGS`` as a separate process (stdout is a pipe, as in CI)."""
    text = not isinstance(input, bytes)
    return subprocess.run([*LOSSCLI, *map(str, args)], input=input, capture_output=True, text=text,
                          env=program_env() if env is None else env, timeout=timeout, cwd=cwd)


def assert_bad_input(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one 'Error: ...' line on stderr holding every fragment."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]
