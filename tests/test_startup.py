"""Which heavy modules each command path imports (issue 17): a small CSV needs neither pyarrow
nor pandas, Parquet needs pyarrow but not pandas, nothing needs pydantic. Each case runs in a
fresh interpreter, since a module imported by one test would hide another's import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT, SAMPLES, program_env

PRED, TARGET = str(SAMPLES / "outliers_pred.csv"), str(SAMPLES / "outliers_target.csv")
HEAVY = ("pandas", "pyarrow", "pyarrow.compute", "polars", "pydantic", "scipy", "torch", "rich")
NEVER = {"pandas", "polars", "pydantic", "scipy", "torch"}


def imported_heavy_modules(arguments: list[str]) -> set[str]:
    """The heavy modules in sys.modules after `losscli ARGUMENTS` ran (exit 0 asserted)."""
    code = (f"import sys; from losscli.cli import main; sys.argv = ['losscli', *{arguments!r}]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
            f"print('heavy:', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=program_env())
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].removeprefix("heavy:").split())


@pytest.mark.slow
@pytest.mark.parametrize("arguments", [
    ["--help"], ["list"], ["describe", "huber"], ["gradcheck", "focal"],
    ["compute", "mse", PRED, TARGET],
    ["compute", "huber", PRED, TARGET, "--format", "json", "--group-by", f"{PRED}:pred"],
    ["compare", "mse", "mae", "huber", PRED, TARGET],
    ["compare", "mse", "mae"],
], ids=lambda arguments: " ".join(arguments[:2]))
def test_small_files_and_catalogue_import_no_heavy_module(arguments):
    """rich included: tables are drawn by losscli.render.boxtable (rich draws progress bars only,
    in a terminal, and typer's --help)."""
    found = imported_heavy_modules(arguments)
    assert found == set() or (arguments == ["--help"] and found == {"rich"})


@pytest.mark.slow
def test_parquet_imports_pyarrow_but_not_pandas():
    found = imported_heavy_modules(["compute", "mae", str(SAMPLES / "eval.parquet"), "--col", "pred=yhat", "--col",
                                    "target=y", "--group-by", "segment", "-w", "weight"])
    assert "pyarrow" in found and not found & NEVER


@pytest.mark.slow
def test_numeric_columns_need_no_arrow_compute(tmp_path):
    """pyarrow.compute (0.07 s of import) is for text cells and group columns only."""
    path = tmp_path / "numbers.parquet"
    code = ("import pyarrow as pa, pyarrow.parquet as pq, sys; pq.write_table(pa.table({'p': pa.array([1.5, None]), "
            "'t': pa.array([1, 2], pa.int32()), 'flag': [True, False]}), sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    found = imported_heavy_modules(["compute", "mse", str(path), "--col", "pred=p", "--col", "target=t",
                                    "--nan-policy", "omit"])
    assert "pyarrow" in found and "pyarrow.compute" not in found and not found & NEVER


@pytest.mark.slow
def test_a_csv_that_is_not_plain_goes_through_arrow_without_pandas(tmp_path):
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('"pred"\n" 1.5"\n"2.5"\n3.5\n4\n')  # quotes and spaces: Arrow's reader
    found = imported_heavy_modules(["compute", "mse", str(quoted), TARGET])
    assert "pyarrow" in found and not found & NEVER
