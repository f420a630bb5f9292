"""Benchmark: `losscli gradcheck` vs torch.autograd.gradcheck on a torch autograd.Function.

Softmax cross-entropy over 10,000 rows × 10 classes (float64), written as a
torch.autograd.Function with a hand-written backward, in two shapes: returning per-sample losses
(losscli checks every element, row-batched: 4 evaluations per column) and returning their mean
(losscli: random directions; torch: its Jacobian, slow mode column by column, fast mode one
random direction). Each checker runs on the right Function and on one whose backward is 1 % too
large: time, and whether it passes the right one and catches the wrong one. Not a test.

    .venv/bin/python benchmarks/gradcheck_bench.py [--rows N] [--torch-slow-rows N]

torch's slow mode perturbs each of the N·10 elements and re-evaluates the whole batch, so its
time grows faster than N (here about N^1.4 from 500 to 2,000 rows) and so does its memory: its
peak RSS was 0.55 GB at 1,000 rows and 2.5 GB at 2,000, about quadratic, so 10,000 rows do not
fit in this machine's 24 GB. It runs at --torch-slow-rows (default 1,000) and its time is scaled
by N / rows, a lower bound, marked so. torch runs on one thread (losscli's NumPy uses one core).
Also prints the time of `gradcheck --all` (the library call).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from losscli import checker, gradcheck

CLASSES = 10


def seconds(function, repeats: int = 1):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def functions(torch, factor: float):
    """The per-sample and mean Functions whose backward is ``factor`` × the true gradient."""

    class PerSample(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, target):
            log_probs = torch.log_softmax(logits, dim=1)
            ctx.save_for_backward(log_probs, target)
            return -(target * log_probs).sum(dim=1)

        @staticmethod
        def backward(ctx, grad_output):
            log_probs, target = ctx.saved_tensors
            return factor * grad_output[:, None] * (log_probs.exp() - target), None

    class Mean(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, target):
            log_probs = torch.log_softmax(logits, dim=1)
            ctx.save_for_backward(log_probs, target)
            return -(target * log_probs).sum(dim=1).mean()

        @staticmethod
        def backward(ctx, grad_output):
            log_probs, target = ctx.saved_tensors
            return factor * grad_output * (log_probs.exp() - target) / target.shape[0], None

    return PerSample, Mean


def inputs(rows: int):
    rng = np.random.default_rng(0)
    return {"logits": rng.normal(0.0, 2.0, (rows, CLASSES)), "target": np.eye(CLASSES)[rng.integers(0, CLASSES, rows)]}


def losscli_row(label, function, wrong, arrays):
    right_time, right = seconds(lambda: gradcheck(function, arrays, like="softmax_cross_entropy").passed, 3)
    wrong_time, caught = seconds(lambda: not gradcheck(wrong, arrays, like="softmax_cross_entropy").passed, 3)
    return label, statistics.mean([right_time, wrong_time]), right, caught, ""


def torch_row(torch, label, function, wrong, arrays, fast: bool, extrapolate: float):
    logits = torch.tensor(arrays["logits"], requires_grad=True)
    target = torch.tensor(arrays["target"])

    def check(f):
        return torch.autograd.gradcheck(lambda x: f.apply(x, target), (logits,), fast_mode=fast,
                                        raise_exception=False)

    right_time, right = seconds(lambda: check(function), 1 if not fast else 3)
    wrong_time, passed_wrong = seconds(lambda: check(wrong), 1 if not fast else 3)
    note = f"run at {logits.shape[0]:,} rows, time x{extrapolate:g} (lower bound)" if extrapolate != 1 else ""
    return label, statistics.mean([right_time, wrong_time]) * extrapolate, right, not passed_wrong, note


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--torch-slow-rows", type=int, default=1_000)
    options = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # on a shared 2-core machine, torch's thread pool costs more than it gives
    rows, slow_rows = options.rows, min(options.torch_slow_rows, options.rows)
    arrays, slow_arrays = inputs(rows), inputs(slow_rows)
    (per_sample, mean), (per_sample_wrong, mean_wrong) = functions(torch, 1.0), functions(torch, 1.01)
    table = [
        losscli_row("losscli gradcheck, per-sample Function (full, row-batched)", per_sample, per_sample_wrong, arrays),
        losscli_row("losscli gradcheck, mean Function (5 directions)", mean, mean_wrong, arrays),
        torch_row(torch, "torch.autograd.gradcheck, mean Function", mean, mean_wrong, slow_arrays, False,
                  rows / slow_rows),
        torch_row(torch, "torch.autograd.gradcheck fast_mode, mean Function", mean, mean_wrong, arrays, True, 1),
    ]
    print(f"softmax cross-entropy torch.autograd.Function, {rows:,} rows x {CLASSES} classes, float64; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread; time = mean of the right and the "
          "1 %-wrong check (losscli and fast mode: medians of 3)")
    print("| checker | time (s) | passes the right backward | catches a backward 1 % too large | note |")
    print("|---|---|---|---|---|")
    for label, elapsed, right, caught, note in table:
        print(f"| {label} | {elapsed:.3f} | {'yes' if right else 'NO'} | {'yes' if caught else 'NO'} | {note} |")
    every, _ = seconds(lambda: checker.check_all(), 3)
    print(f"\ngradcheck --all (library call, every registered loss at {checker.DEFAULT_SIZE} rows): {every:.3f} s")


if __name__ == "__main__":
    main()
