"""`losscli gradcheck`: analytic gradients of built-in losses or of users' own code vs finite differences."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Annotated

import typer

from .. import checker
from ..errors import InputError, LossCliError
from ..registry import get_loss
from ..render.gradcheck import print_result, print_summary
from ..usercode import is_user_code
from .common import (
    EXIT_CHECK_FAILED,
    ColumnsOption,
    FormatOption,
    OutputFormat,
    ParamOption,
    TargetFormat,
    error_boundary,
    parse_params,
    stdout,
)


class Mode(str, Enum):
    auto = "auto"
    full = "full"
    directional = "directional"


class Framework(str, Enum):
    torch = "torch"
    jax = "jax"
    numpy = "numpy"


@error_boundary
def gradcheck(
    target: Annotated[str | None, typer.Argument(
        metavar="LOSS|FILE.py:OBJ",
        help="A loss name, or your own code: FILE.py:NAME — a torch.autograd.Function, nn.Module or function "
             "of tensors, a JAX function (custom_vjp/custom_jvp), a class with forward(y_pred, y_true) and "
             "backward() — or FILE.py:loss_fn,grad_fn. The file is Python code and is EXECUTED (in a child "
             "process): only check files you trust. It is loaded from that path alone.")] = None,
    check_all: Annotated[bool, typer.Option("--all", help="Check every registered loss; one summary table.")] = False,
    eps: Annotated[float, typer.Option(help="Relative finite-difference step: h = eps·max(|x|, mean |x|).")
                   ] = checker.DEFAULT_EPS,
    atol: Annotated[float, typer.Option(help="Extra absolute tolerance per element (default none: tolerances "
                                             "are relative to each element plus its rounding noise).")
                    ] = checker.DEFAULT_ATOL,
    rtol: Annotated[float, typer.Option(help="Relative tolerance per element.")] = checker.DEFAULT_RTOL,
    seed: Annotated[int, typer.Option(help="Seed (>= 0) of the random inputs and directions.")] = 0,
    size: Annotated[int | None, typer.Option(
        min=1, help=f"Rows of random inputs [default: {checker.DEFAULT_SIZE}].")] = None,
    mode: Annotated[Mode, typer.Option(
        help="full: every element; directional: random ±1 directions; auto: full up to a size limit.")] = Mode.auto,
    directions: Annotated[int, typer.Option(
        min=1, help="Random directions in directional mode.")] = checker.DEFAULT_DIRECTIONS,
    inputs: Annotated[list[str] | None, typer.Option(
        "--inputs", metavar="FILE", help="Check at your data instead of random draws: one file per input, "
                                         "repeated in the loss's input order (.csv, .parquet, .npy), or one file "
                                         "with --col for each input.")] = None,
    col: ColumnsOption = None,
    like: Annotated[str | None, typer.Option(
        metavar="LOSS", help="Your code: draw inputs (shapes, domain) with this registered loss's generator.")] = None,
    against: Annotated[str | None, typer.Option(
        metavar="LOSS", help="Your code: also compare its forward values with this registered loss on the check's "
                             "inputs and extreme variants of them (implies --like LOSS).")] = None,
    value_tol: Annotated[float, typer.Option(
        help="With --against: the largest relative difference of values that passes.")] = checker.DEFAULT_VALUE_TOL,
    framework: Annotated[Framework | None, typer.Option(
        help="Your code's framework, when detection from the object is not what you want.")] = None,
    timeout: Annotated[float | None, typer.Option(
        metavar="SECONDS", help="Your code: stop the check (exit 2) if it has not finished after SECONDS.")] = None,
    init: Annotated[list[str] | None, typer.Option(
        metavar="KEY=VALUE", help="Your class's constructor argument, repeatable (e.g. --init delta=2).")] = None,
    target_format: Annotated[TargetFormat, typer.Option(
        help="Your code on a classification loss: class targets as one-hot rows [N, C] "
             "(a training loop's usual protocol) or integer class ids [N].")] = TargetFormat.onehot,
    param: ParamOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Check analytic gradients against central finite differences.

    The checked scalar is the sum of the per-sample losses (or the scalar your code returns).
    Each element passes when |analytic - numeric| <= rtol·max(|analytic|, |numeric|) + its own
    rounding noise and truncation; a sign disagreement beyond the noise always fails. Elements at
    a kink and elements below rounding noise are counted and left out; a check that compares
    nothing, or whose step cannot resolve rtol, exits 2. Exit 0 all pass, 1 a check failed, 2 bad
    usage or a check that cannot be trusted.

    \b
    Example:
        losscli gradcheck focal
        losscli gradcheck --all
        losscli gradcheck triplet --mode directional --directions 8 --size 100000
        losscli gradcheck my_losses.py:HuberLoss --like huber --init delta=1.0
        losscli gradcheck my_torch.py:SoftmaxCE --like softmax_cross_entropy --against softmax_cross_entropy
    """
    user = target is not None and is_user_code(target)
    _check_usage(target, check_all, inputs, col, size, like, user,
                 {"--init": init, "--target-format": target_format is not TargetFormat.onehot,
                  "--framework": framework, "--against": against, "--timeout": timeout is not None})
    if timeout is not None and not timeout > 0:
        raise LossCliError(f"--timeout must be a number of seconds > 0, got {timeout:g}")
    settings = checker.Settings(eps, atol, rtol, mode.value, directions, seed, size or checker.DEFAULT_SIZE)
    params = parse_params(param)
    if check_all:
        results = checker.check_all(settings=settings)
        print_summary(stdout, results, output_format.value)
        passed = all(result.passed for result in results)
    else:
        if user:
            result = _check_user_code(target, settings, params, inputs, col, like, against, value_tol,
                                      framework, timeout, init, target_format.value)
        else:
            result = _check_builtin(target, settings, params, inputs, col)
        print_result(stdout, result, output_format.value)
        passed = result.passed
    if not passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _check_usage(target, check_all, inputs, col, size, like, user, user_only: dict) -> None:
    """Reject conflicting or misplaced options up front, naming the flags."""
    if check_all == (target is not None):
        raise LossCliError("give a LOSS or FILE.py:OBJ to check, or --all (not both)")
    if check_all and inputs:
        raise LossCliError("--inputs checks one loss at given data; it cannot be combined with --all")
    if inputs and size is not None:
        raise LossCliError("--size draws random rows; it cannot be combined with --inputs")
    if col and not inputs:
        raise LossCliError("--col picks columns of --inputs files; give --inputs FILE")
    extras = [flag for flag, given in ({"--like": like, **user_only}).items() if given]
    if extras and not user:
        raise LossCliError(f"{', '.join(extras)} appl{'ies' if len(extras) == 1 else 'y'} to your own code "
                           "(FILE.py:OBJ), not to built-in losses")
    if user and not (like or user_only["--against"] or inputs):
        raise LossCliError("your code needs inputs: --like LOSS (random inputs of that loss) or --inputs FILE...")
    if user and col and not (like or user_only["--against"]):
        raise LossCliError("--col names the inputs of a loss: give --like LOSS with it")


def read_inputs(loss_or_names, paths: list[str], cols: list[str] | None):
    """--inputs files (and --col selectors) as named arrays, shaped as a loss takes them (or as
    read, named by a list), and the function that turns an InputError into one line naming the
    file, column and row. The one place gradcheck reads files."""
    from ..inputs import InputPlan

    batch = InputPlan.build(loss_or_names, paths, columns=cols).load()
    return batch.arrays, batch.locate


def _check_builtin(target, settings, params, inputs, cols):
    spec = get_loss(target)
    arrays, explain = read_inputs(spec, inputs, cols) if inputs else (None, LossCliError)
    try:
        return checker.check_registered(spec, arrays, params=params, settings=settings)
    except InputError as error:
        raise explain(error) from None


def _check_user_code(target, settings, params, inputs, cols, like, against, value_tol, framework, timeout,
                     init, target_format):
    from ..usercode.check import unlabelled_names, validated_inputs
    from ..usercode.isolation import run_isolated
    from ..usercode.loading import parse_init

    arrays, shaped_like = None, like or against
    if inputs and not shaped_like:
        arrays, _ = read_inputs(unlabelled_names(len(inputs)), inputs, None)
    elif inputs:
        arrays, explain = read_inputs(shaped_like, inputs, cols)
        try:
            arrays = validated_inputs(shaped_like, arrays, params)
        except InputError as error:
            raise explain(error) from None
    options = {"target": target, "inputs": arrays, "like": like, "params": params, "init": parse_init(init),
               "framework": framework.value if framework else None, "target_format": target_format,
               "against": against, "value_tol": value_tol, **asdict(settings)}
    return run_isolated(target, options, timeout)
