"""`make bench`: every performance aim of losscli against its floor, in one interleaved run.

Generates (once, under benchmarks/data/, git-ignored) 10-million-row regression data as Parquet
and CSV, the same rows with a text and a categorical group column as Parquet, and 1-million-row
× 10-class logits, then runs every program of every section as its own process, all programs
interleaved in each round so that drift on a shared machine hits all alike. Prints, per section,
the median wall time, the peak RSS of the whole process (from wait4) and the ratio against the
section's baseline, then one line per aim: the ratio, the aim, met or not.

    python benchmarks/run.py [--rows 10000000] [--repeats 5] [--large] [--candidates]
                             [--python PYTHON]   (another environment's losscli, e.g. a "before")

Sections (baseline first):
  small files  `python -c "import numpy"` vs list, describe, compute/compare/gradcheck on the
               4-row sample files (whole process)
  parquet      the floor (pyarrow batches, one NumPy pass) vs losscli compute mse, pandas
  csv          pandas' C parser on the whole file (the fastest plain script) vs losscli compute
               mse, pyarrow and polars whole-file scripts
  logits       the floor vs losscli softmax_cross_entropy on 1 M × 10 logits, pandas
  group-by     losscli compute mse vs the same with --group-by on a text and a categorical column
  compare      losscli compute mse vs losscli compare mse mae huber (one read, three losses)
--large adds 50 M rows (CSV against pandas, Parquet against the floor) in one round; --candidates
measures the streaming CSV readers considered for losscli (benchmarks/scripts.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import scripts

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
SAMPLES = ROOT / "sample_data"
RSS_AIM_MIB = 400
# Measured processes cache bytecode, as an installed package does (pip compiles it at install):
# without that, an editable checkout under PYTHONDONTWRITEBYTECODE=1 would compile losscli's
# modules on every run (about 0.2 s). Each program runs once, unmeasured, before the rounds.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Section:
    """Programs measured together; ratios are against ``baseline``. ``aims``: program -> the
    largest ratio the issue allows (None: shown, no aim)."""

    title: str
    baseline: str
    programs: dict[str, list[str]]
    aims: dict[str, float | None]
    rss_aim: bool = True


def data_paths(rows: int) -> dict[str, Path]:
    return {"parquet": DATA / f"regression_{rows}.parquet", "csv": DATA / f"regression_{rows}.csv",
            "grouped": DATA / f"grouped_{rows}.parquet", "logits": DATA / "logits_1000000.parquet"}


def generate(rows: int) -> dict[str, Path]:
    """The data files, made by a child process if missing: the measured processes are forked
    from this one, and wait4's peak RSS would include a parent grown by generating data."""
    paths = data_paths(rows)
    if not all(path.exists() for path in paths.values()):
        subprocess.run([sys.executable, __file__, "--generate", str(rows)], check=True)
    return paths


def _write_data(rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    DATA.mkdir(exist_ok=True)
    paths = data_paths(rows)
    rng = np.random.default_rng(0)
    regions = pa.array([f"region_{i:02d}" for i in range(20)])
    schema = pa.schema([("pred", pa.float64()), ("target", pa.float64())])
    grouped_schema = schema.append(pa.field("segment", pa.string())).append(
        pa.field("category", pa.dictionary(pa.int32(), pa.string())))
    with pq.ParquetWriter(paths["parquet"], schema) as plain, pc.CSVWriter(paths["csv"], schema) as csv, \
            pq.ParquetWriter(paths["grouped"], grouped_schema) as grouped:
        for start in range(0, rows, 1 << 21):
            count = min(1 << 21, rows - start)
            target = rng.normal(size=count)
            table = pa.table({"pred": target + rng.normal(size=count), "target": target})
            plain.write_table(table)
            csv.write_table(table)
            codes = pa.array(rng.integers(0, 20, count).astype(np.int32))
            grouped.write_table(table.append_column("segment", regions.take(codes)).append_column(
                "category", pa.DictionaryArray.from_arrays(codes, regions)))
    if not paths["logits"].exists():
        count = 1_000_000
        columns = {f"l{i}": rng.normal(size=count) for i in range(10)}
        columns["label"] = rng.integers(0, 10, count)
        pq.write_table(pa.table(columns), paths["logits"])


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=DATA, env=ENV)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: a gate or check failed, still a full run
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def measure(sections: list[Section], repeats: int, warm_up: list[list[str]] = ()) -> dict:
    """(median s, spread: max/min time, max RSS MiB) per (section, program); every round runs
    every program once, so drift hits all alike. ``warm_up`` commands run first, unmeasured."""
    samples = {(section.title, name): [] for section in sections for name in section.programs}
    for command in warm_up:
        run_once(command)
    for _ in range(repeats):
        for section in sections:
            for name, command in section.programs.items():
                samples[section.title, name].append(run_once(command))
    return {key: (statistics.median(t for t, _ in runs), max(t for t, _ in runs) / min(t for t, _ in runs),
                  max(r for _, r in runs)) for key, runs in samples.items()}


def print_sections(sections: list[Section], results) -> list[str]:
    """Each section's table; returns one line per aim."""
    verdicts = []
    for section in sections:
        base = results[section.title, section.baseline][0]
        print(f"\n{section.title}")
        print(f"{'program':<22}{'median s':>10}{'max/min':>9}{'peak RSS MiB':>14}{'x ' + section.baseline:>20}")
        for name in section.programs:
            seconds, spread, rss = results[section.title, name]
            print(f"{name:<22}{seconds:>10.3f}{spread:>9.2f}{rss:>14.0f}{seconds / base:>20.2f}")
            aim = section.aims.get(name)
            if aim is not None:
                met = seconds / base <= aim and (not section.rss_aim or rss <= RSS_AIM_MIB)
                rss_text = f", {rss:.0f} MiB (aim <= {RSS_AIM_MIB})" if section.rss_aim else ""
                verdicts.append(f"{section.title} / {name}: {seconds / base:.2f}x (aim <= {aim}){rss_text}"
                                f"  {'met' if met else 'NOT MET'}")
    return verdicts


def small_file_section(losscli: list[str], python: str) -> Section:
    pred, target = str(SAMPLES / "outliers_pred.csv"), str(SAMPLES / "outliers_target.csv")
    programs = {"import numpy": [python, "-c", "import numpy"],
                "--version": [*losscli, "--version"],
                "list": [*losscli, "list"],
                "describe huber": [*losscli, "describe", "huber"],
                "compute mse (csv)": [*losscli, "compute", "mse", pred, target],
                "compute huber (json)": [*losscli, "compute", "huber", pred, target, "--format", "json"],
                "compute (parquet)": [*losscli, "compute", "mae", str(SAMPLES / "eval.parquet"), "--col",
                                      "pred=yhat", "--col", "target=y", "--group-by", "segment"],
                "compare mse mae huber": [*losscli, "compare", "mse", "mae", "huber", pred, target],
                "gradcheck focal": [*losscli, "gradcheck", "focal"]}
    aims = {name: 2.0 for name in programs if name not in ("import numpy", "compute (parquet)")}
    return Section("small files", "import numpy", programs, aims, rss_aim=False)


def big_sections(losscli: list[str], python: str, paths: dict[str, Path], torch: bool) -> list[Section]:
    columns = ["--col", "pred=pred", "--col", "target=target", "--format", "json"]
    parquet, csv, grouped, logits = (str(paths[kind]) for kind in ("parquet", "csv", "grouped", "logits"))
    compute_parquet = [*losscli, "compute", "mse", parquet, *columns]
    sections = [
        Section("mse, parquet", "floor", {"floor": [python, "-c", scripts.FLOOR_PARQUET, parquet],
                                          "losscli": compute_parquet,
                                          "floor-raw": [python, "-c", scripts.FLOOR_RAW_PARQUET, parquet],
                                          "pandas": [python, "-c", scripts.PANDAS, parquet]}, {"losscli": None}),
        Section("mse, csv", "pandas", {"pandas": [python, "-c", scripts.PANDAS, csv],
                                       "losscli": [*losscli, "compute", "mse", csv, *columns],
                                       "pyarrow": [python, "-c", scripts.ARROW_CSV, csv]}, {"losscli": 1.10}),
        Section("softmax_cross_entropy, 1,000,000 x 10 logits, parquet", "floor",
                {"floor": [python, "-c", scripts.FLOOR_LOGITS, logits],
                 "losscli": [*losscli, "compute", "softmax_cross_entropy", logits, "--col", "logits=l*", "--col",
                             "target=label", "--format", "json"],
                 "pandas": [python, "-c", scripts.PANDAS_LOGITS, logits]}, {"losscli": None}),
        Section("group-by, parquet", "no group-by",
                {"no group-by": [*losscli, "compute", "mse", grouped, *columns],
                 "--group-by text": [*losscli, "compute", "mse", grouped, *columns, "--group-by", "segment"],
                 "--group-by categorical": [*losscli, "compute", "mse", grouped, *columns, "--group-by", "category"]},
                {"--group-by text": 1.3, "--group-by categorical": 1.3}),
        Section("compare, parquet", "compute mse",
                {"compute mse": compute_parquet,
                 "compare mse mae huber": [*losscli, "compare", "mse", "mae", "huber", parquet, *columns]},
                {"compare mse mae huber": 3.0}),
    ]
    if has_module(python, "polars"):
        sections[1].programs["polars"] = [python, "-c", scripts.POLARS_CSV, csv]
    if torch:
        sections[0].programs["torch"] = [python, "-c", scripts.TORCH_MSE, parquet]
    return sections


def large_sections(losscli: list[str], python: str) -> list[Section]:
    paths = generate(50_000_000)
    columns = ["--col", "pred=pred", "--col", "target=target", "--format", "json"]
    csv, parquet = str(paths["csv"]), str(paths["parquet"])
    return [Section("50 M rows, csv", "pandas", {"pandas": [python, "-c", scripts.PANDAS, csv],
                                                 "losscli": [*losscli, "compute", "mse", csv, *columns]},
                    {"losscli": 1.10}),
            Section("50 M rows, parquet", "floor", {"floor": [python, "-c", scripts.FLOOR_PARQUET, parquet],
                                                    "losscli": [*losscli, "compute", "mse", parquet, *columns]},
                    {"losscli": None})]


def candidate_section(python: str, csv: Path) -> Section:
    programs = {"pandas": [python, "-c", scripts.PANDAS, str(csv)]}
    for name, code in scripts.CANDIDATES.items():
        if has_module(python, name.split("-")[0].replace("arrow", "pyarrow")):
            programs[name] = [python, "-c", code, str(csv)]
    return Section("streaming CSV readers (candidates)", "pandas", programs, {})


def has_module(python: str, name: str) -> bool:
    return subprocess.run([python, "-c", f"import {name}"], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="also 50 M rows (CSV and Parquet), one round")
    parser.add_argument("--candidates", action="store_true", help="also the streaming CSV readers considered")
    parser.add_argument("--only", metavar="TEXT", help="only the sections whose title contains TEXT")
    parser.add_argument("--python", default=sys.executable, help="the Python whose losscli is measured")
    parser.add_argument("--generate", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        _write_data(args.generate)
        return
    losscli = [args.python, "-m", "losscli"]
    small = small_file_section(losscli, args.python)
    sections = [small]
    if args.only is None or args.only not in small.title:  # the data files only when measured
        paths = generate(args.rows)
        sections += big_sections(losscli, args.python, paths, has_module(args.python, "torch"))
        if args.candidates:
            sections.append(candidate_section(args.python, paths["csv"]))
    sections = [section for section in sections if args.only is None or args.only in section.title]
    print(f"{args.rows:,} rows; {args.repeats} interleaved rounds; {os.cpu_count()} cores; "
          f"losscli from {args.python}; max/min = slowest/fastest run (noise)")
    # the warm-up writes losscli's bytecode and puts the sample files in the page cache
    verdicts = print_sections(sections, measure(sections, args.repeats, list(small.programs.values())))
    if args.large:
        large = large_sections(losscli, args.python)
        verdicts += print_sections(large, measure(large, 1))
    print("\naims")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
