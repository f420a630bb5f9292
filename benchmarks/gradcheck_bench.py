"""Benchmark: `losscli gradcheck` full mode vs torch.autograd.gradcheck (slow and fast mode).

Softmax cross-entropy on N rows × 10 classes (float64), N = 100, 1,000 and 10,000, plus the
time of `gradcheck --all` (the library call behind it). Prints medians and ratios. Not a test.

    .venv/bin/python benchmarks/gradcheck_bench.py

Aims (issue 4): full check of 10,000 × 10 under 1 s and at least 100× faster than torch's slow
mode; --all under 5 s. torch is optional. torch's slow mode perturbs every element and
re-evaluates the whole batch, so its time grows as N²: a size whose estimate (from the previous
size × 100) exceeds TORCH_SLOW_BUDGET seconds is not run but extrapolated, and marked so.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np

from losscli import get_loss
from losscli import gradcheck as checker

ROWS = (100, 1_000, 10_000)
CLASSES = 10
REPEATS = 5
TORCH_SLOW_BUDGET = 60.0


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inputs(rows: int, classes: int = CLASSES) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"logits": rng.normal(0.0, 2.0, (rows, classes)),
            "target": rng.integers(0, classes, rows).astype(np.float64)}


def ours(rows: int) -> float:
    arrays = inputs(rows)

    def run():
        result = checker.gradcheck("softmax_cross_entropy", arrays, mode="full")
        assert result.passed and result.method == "full"

    return median_seconds(run, REPEATS)


def torch_problem(rows: int):
    import torch

    arrays = inputs(rows)
    logits = torch.tensor(arrays["logits"], dtype=torch.float64, requires_grad=True)
    target = torch.tensor(arrays["target"], dtype=torch.long)
    return (lambda x: torch.nn.functional.cross_entropy(x, target)), logits


def torch_check(rows: int, fast: bool, repeats: int) -> float:
    import torch

    function, logits = torch_problem(rows)

    def run():
        assert torch.autograd.gradcheck(function, (logits,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=fast)

    return median_seconds(run, repeats)


def one_percent_too_large():
    spec = get_loss("softmax_cross_entropy")

    def gradient(*arrays, **params):
        return {name: 1.01 * value for name, value in spec.gradient(*arrays, **params).items()}

    return dataclasses.replace(spec, gradient=gradient)


def torch_blind_spot(rows: int, classes: int) -> bool:
    """Does torch's slow mode pass a gradient 1 % too large on a mean-reduced loss of ``rows`` rows?"""
    import torch

    arrays = inputs(rows, classes)
    target = torch.tensor(arrays["target"], dtype=torch.long)

    class OnePercentTooLarge(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.nn.functional.cross_entropy(x, target)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            onehot = torch.nn.functional.one_hot(target, x.shape[1]).to(x.dtype)
            return 1.01 * grad_output * (torch.softmax(x, dim=1) - onehot) / x.shape[0]

    logits = torch.tensor(arrays["logits"], dtype=torch.float64, requires_grad=True)
    return torch.autograd.gradcheck(OnePercentTooLarge.apply, (logits,), eps=1e-6, atol=1e-5, rtol=1e-3,
                                    raise_exception=False)


def main() -> None:
    try:
        import torch
    except ImportError:
        torch = None
    print(f"softmax_cross_entropy, N rows x {CLASSES} classes, float64; medians of {REPEATS} runs "
          f"(torch slow mode: 1 run){'' if torch else '; torch not installed'}")
    if torch is not None:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads. torch slow mode is not run where its "
              f"estimate exceeds {TORCH_SLOW_BUDGET:.0f} s; the estimate is a lower bound: the previous size's "
              f"time per element x elements (each element costs two evaluations of a larger batch)")
    header = (f"{'rows':>7} {'losscli full':>13} {'torch slow':>18} {'torch fast':>11} "
              f"{'slow/ours':>10} {'fast/ours':>10}")
    print(header)
    print("-" * len(header))
    previous = None  # (rows, torch slow seconds) of the last size
    for rows in ROWS:
        mine = ours(rows)
        slow_text, fast_text, slow_ratio, fast_ratio = "n/a", "n/a", "", ""
        if torch is not None:
            estimate = None if previous is None else previous[1] * rows / previous[0]
            if estimate is not None and estimate > TORCH_SLOW_BUDGET:
                slow, slow_text = estimate, f">={estimate:.0f} s (extrap.)"
            else:
                slow = torch_check(rows, fast=False, repeats=1)
                slow_text = f"{slow:.3f} s"
            previous = (rows, slow)
            fast = torch_check(rows, fast=True, repeats=REPEATS)
            fast_text = f"{fast:.3f} s"
            slow_ratio = f"{'>=' if slow_text.startswith('>=') else ''}{slow / mine:.0f}x"
            fast_ratio = f"{fast / mine:.1f}x"
        print(f"{rows:>7} {mine:>11.3f} s {slow_text:>18} {fast_text:>11} {slow_ratio:>10} {fast_ratio:>10}")
    every = median_seconds(lambda: checker.check_all(), REPEATS)
    print(f"\ngradcheck --all (library call, {len(checker.check_all())} losses, default size "
          f"{checker.DEFAULT_SIZE}): {every:.3f} s")
    if torch is not None:
        # 1,000 rows: each element's gradient is at most 1/1000, so 1 % of it is below atol = 1e-5.
        torch_passes = torch_blind_spot(1_000, 2)
        ours_passes = checker.gradcheck(one_percent_too_large(), inputs(1_000, 2), mode="full").passed
        print(f"\n1/N blind spot, gradient 1 % too large, 1,000 rows x 2 classes: torch slow mode (mean, fixed "
              f"atol) {'PASSES it' if torch_passes else 'fails it'}; losscli full mode (summed loss) "
              f"{'PASSES it' if ours_passes else 'fails it'}.")


if __name__ == "__main__":
    main()
