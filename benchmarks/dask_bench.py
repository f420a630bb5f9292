"""The Dask engine against the local one on the same sharded dataset (issue 8's evidence).

Generates (once, under benchmarks/data/shards/, git-ignored) 20 Parquet shards x 500,000 rows
of predictions (pred/) and targets (target/), then runs `losscli compute mse` as a process,
interleaved, on: the local engine; `--engine dask --workers 2` (starts and stops a local
cluster each run); and `--engine dask --scheduler ADDRESS` attached to a two-worker cluster
this script started once (the same work without the cluster start-up). Prints each run's wall
time, the medians and every value with its difference from the local one.

    python benchmarks/dask_bench.py [--shards 20] [--rows 500000] [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARDS = HERE / "data" / "shards"
LOSSCLI = str(Path(sys.executable).parent / "losscli")


def generate(shards: int, rows: int) -> tuple[str, str]:
    """Glob patterns of the pred and target shards, written unless already there."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    pred_dir, target_dir = SHARDS / "pred", SHARDS / "target"
    names = [f"part-{index:04d}.parquet" for index in range(shards)]
    if not all((pred_dir / name).exists() and (target_dir / name).exists() for name in names) \
            or pq.ParquetFile(pred_dir / names[0]).metadata.num_rows != rows:
        pred_dir.mkdir(parents=True, exist_ok=True)
        target_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(8)
        for name in names:
            target = rng.normal(size=rows)
            pq.write_table(pa.table({"pred": target + rng.normal(size=rows)}), pred_dir / name)
            pq.write_table(pa.table({"target": target}), target_dir / name)
    return str(pred_dir / "*.parquet"), str(target_dir / "*.parquet")


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, loss value) of one `losscli compute --format json` process."""
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{finished.stderr}")
    return elapsed, json.loads(finished.stdout)["value"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--rows", type=int, default=500_000, help="rows per shard")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pred, target = generate(args.shards, args.rows)
    base = [LOSSCLI, "compute", "mse", pred, target, "--format", "json"]
    from distributed import LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        programs = {"local": base,
                    f"dask --workers {args.workers}": [*base, "--engine", "dask", "--workers", str(args.workers)],
                    f"dask --scheduler ({args.workers} workers)": [*base, "--engine", "dask", "--scheduler",
                                                                   cluster.scheduler_address]}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in programs}
        for _ in range(args.repeats):  # interleaved: drift on a shared machine hits every program alike
            for name, command in programs.items():
                runs[name].append(run_once(command))
    print(f"mse over {args.shards} Parquet shards x {args.rows:,} rows = {args.shards * args.rows:,} rows; "
          f"{args.repeats} interleaved runs; machine: {os.cpu_count()} cores; "
          f"dask workers: {args.workers} processes x 1 thread")
    reference = runs["local"][0][1]
    print(f"{'engine':<30}{'median s':>10}  {'runs s':<24}{'value':>24}{'rel. diff vs local':>20}")
    for name, samples in runs.items():
        times = ", ".join(f"{seconds:.2f}" for seconds, _ in samples)
        values = {value for _, value in samples}
        value = samples[0][1]
        spread = "" if len(values) == 1 else f" ({len(values)} distinct values)"
        print(f"{name:<30}{statistics.median(t for t, _ in samples):>10.2f}  {times:<24}{value!r:>24}"
              f"{abs(value - reference) / abs(reference):>20.2e}{spread}")


if __name__ == "__main__":
    main()
