"""`make bench`: losscli compute against the floor, a user's plain script and torch, in one run.

Generates (once, under benchmarks/data/, git-ignored) 10-million-row regression data as
Parquet and CSV and 1-million-row × 10-class logits as Parquet, then runs every program as its
own process several times, interleaved, and prints the median wall time, the peak RSS of the
whole process (from wait4) and the ratios against the floor and the fastest plain script.

    python benchmarks/run.py [--rows 10000000] [--repeats 5] [--large]   (--large adds 50 M rows)

Programs:
  losscli   `losscli compute ... --format json` (value, gradient summary and all checks)
  floor     stream the file with pyarrow (Parquet batches / streaming CSV reader) and do one
            fused NumPy pass for the value: the least any tool can do
  floor-raw the Parquet floor without to_numpy's pandas import and without read-ahead
  pandas    what a user writes today: pandas.read_parquet / read_csv, then NumPy
  torch     the arrays loaded with pyarrow, then torch's mse_loss / cross_entropy (if installed)
  start-up  `losscli --version` against `python -c "import numpy"`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
PYTHON = sys.executable

FLOOR_PARQUET = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=1 << 20, columns=["pred", "target"]):
    r = batch.column(0).to_numpy() - batch.column(1).to_numpy()
    total += float(np.einsum("i,i->", r, r)); n += r.size
print(total / n)
"""
# The floor without pyarrow's to_numpy (which imports pandas, ~0.2 s) and without Parquet
# read-ahead: the fastest a script can stream this file; shown for honesty, not as the baseline.
FLOOR_RAW_PARQUET = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
batches = pq.ParquetFile(sys.argv[1], pre_buffer=False).iter_batches(batch_size=1 << 20, columns=["pred", "target"])
for batch in batches:
    r = np.frombuffer(batch.column(0).buffers()[1]) - np.frombuffer(batch.column(1).buffers()[1])
    total += float(np.einsum("i,i->", r, r)); n += r.size
print(total / n)
"""
FLOOR_CSV = """
import sys, numpy as np, pyarrow.csv as pc
total = 0.0; n = 0
for batch in pc.open_csv(sys.argv[1], read_options=pc.ReadOptions(block_size=1 << 24)):
    r = batch.column(0).to_numpy() - batch.column(1).to_numpy()
    total += float(np.einsum("i,i->", r, r)); n += r.size
print(total / n)
"""
PANDAS = """
import sys, numpy as np, pandas as pd
frame = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pd.read_csv(sys.argv[1])
r = frame["pred"].to_numpy() - frame["target"].to_numpy()
print(np.mean(r * r))
"""
TORCH_MSE = """
import sys, torch, pyarrow.parquet as pq, pyarrow.csv as pc
table = pq.read_table(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pc.read_csv(sys.argv[1])
pred = torch.from_numpy(table.column("pred").to_numpy()); target = torch.from_numpy(table.column("target").to_numpy())
print(float(torch.nn.functional.mse_loss(pred, target)))
"""
FLOOR_LOGITS = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=1 << 18):
    z = np.column_stack([batch.column(i).to_numpy() for i in range(10)])
    y = batch.column(10).to_numpy().astype(np.intp)
    m = z.max(axis=1)
    total += float(np.sum(np.log(np.exp(z - m[:, None]).sum(axis=1)) + m - z[np.arange(len(y)), y])); n += len(y)
print(total / n)
"""
PANDAS_LOGITS = """
import sys, numpy as np, pandas as pd
frame = pd.read_parquet(sys.argv[1])
z = frame[[f"l{i}" for i in range(10)]].to_numpy(); y = frame["label"].to_numpy()
m = z.max(axis=1, keepdims=True); logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
print(-np.mean(logp[np.arange(len(y)), y]))
"""
TORCH_LOGITS = """
import sys, torch, numpy as np, pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
z = torch.from_numpy(np.column_stack([table.column(f"l{i}").to_numpy() for i in range(10)]))
y = torch.from_numpy(table.column("label").to_numpy())
print(float(torch.nn.functional.cross_entropy(z, y)))
"""


def data_paths(rows: int) -> dict[str, Path]:
    return {"parquet": DATA / f"regression_{rows}.parquet", "csv": DATA / f"regression_{rows}.csv",
            "logits": DATA / "logits_1000000.parquet"}


def generate(rows: int) -> dict[str, Path]:
    """The data files, made by a child process if missing: the measured processes are forked
    from this one, and wait4's peak RSS would include a parent grown by generating data."""
    paths = data_paths(rows)
    if not all(path.exists() for path in paths.values()):
        subprocess.run([PYTHON, __file__, "--generate", str(rows)], check=True)
    return paths


def _write_data(rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    DATA.mkdir(exist_ok=True)
    paths = data_paths(rows)
    rng = np.random.default_rng(0)
    if not paths["parquet"].exists() or not paths["csv"].exists():
        chunks = []
        with pq.ParquetWriter(paths["parquet"], pa.schema([("pred", pa.float64()), ("target", pa.float64())])) as pw:
            for start in range(0, rows, 1 << 21):
                count = min(1 << 21, rows - start)
                target = rng.normal(size=count)
                table = pa.table({"pred": target + rng.normal(size=count), "target": target})
                pw.write_table(table)
                chunks.append(table)
        pc.write_csv(pa.concat_tables(chunks), paths["csv"])
        del chunks
    if not paths["logits"].exists():
        count = 1_000_000
        columns = {f"l{i}": rng.normal(size=count) for i in range(10)}
        columns["label"] = rng.integers(0, 10, count)
        pq.write_table(pa.table(columns), paths["logits"])


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def measure(programs: dict[str, list[str]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median time and max RSS per program, runs interleaved so drift hits all alike."""
    samples = {name: [] for name in programs}
    for _ in range(repeats):
        for name, command in programs.items():
            samples[name].append(run_once(command))
    return {name: (statistics.median(t for t, _ in runs), max(r for _, r in runs)) for name, runs in samples.items()}


def print_table(title: str, results: dict[str, tuple[float, float]], baseline: str, plain: list[str]) -> None:
    fastest_plain = min(plain, key=lambda name: results[name][0])
    print(f"\n{title}")
    print(f"{'program':<12}{'median s':>10}{'peak RSS MiB':>14}{'x ' + baseline:>12}{'x fastest plain':>17}")
    for name, (seconds, rss) in results.items():
        print(f"{name:<12}{seconds:>10.3f}{rss:>14.0f}{seconds / results[baseline][0]:>12.2f}"
              f"{seconds / results[fastest_plain][0]:>17.2f}")


def has_torch() -> bool:
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="also measure RSS at 50 M rows (Parquet and CSV)")
    parser.add_argument("--generate", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        _write_data(args.generate)
        return
    losscli = [str(BIN / "losscli"), "compute"]
    torch = has_torch()
    paths = generate(args.rows)
    print(f"{args.rows:,} rows; {args.repeats} interleaved runs each; machine: {os.cpu_count()} cores")

    for kind, floor in (("parquet", FLOOR_PARQUET), ("csv", FLOOR_CSV)):
        path = str(paths[kind])
        programs = {"losscli": [*losscli, "mse", path, "--col", "pred=pred", "--col", "target=target",
                                "--format", "json"],
                    "floor": [PYTHON, "-c", floor, path], "pandas": [PYTHON, "-c", PANDAS, path]}
        if kind == "parquet":
            programs["floor-raw"] = [PYTHON, "-c", FLOOR_RAW_PARQUET, path]
        if torch:
            programs["torch"] = [PYTHON, "-c", TORCH_MSE, path]
        plain = [name for name in programs if name not in ("losscli", "floor-raw")]
        print_table(f"mse, {kind}", measure(programs, args.repeats), "floor", plain)

    path = str(paths["logits"])
    programs = {"losscli": [*losscli, "softmax_cross_entropy", path, "--col", "logits=l*", "--col", "target=label",
                            "--format", "json"],
                "floor": [PYTHON, "-c", FLOOR_LOGITS, path], "pandas": [PYTHON, "-c", PANDAS_LOGITS, path]}
    if torch:
        programs["torch"] = [PYTHON, "-c", TORCH_LOGITS, path]
    plain = [name for name in programs if name != "losscli"]
    print_table("softmax_cross_entropy, 1,000,000 x 10 logits, parquet", measure(programs, args.repeats), "floor",
                plain)

    startup = measure({"losscli": [str(BIN / "losscli"), "--version"],
                       "numpy": [PYTHON, "-c", "import numpy"]}, max(args.repeats, 7))
    print_table("start-up", startup, "numpy", ["numpy"])

    if args.large:
        large = generate(50_000_000)
        for kind in ("parquet", "csv"):
            seconds, rss = measure({"losscli": [*losscli, "mse", str(large[kind]), "--col", "pred=pred", "--col",
                                                "target=target", "--format", "json"]}, 1)["losscli"]
            print(f"\n50,000,000 rows, {kind}: losscli {seconds:.2f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
