"""`losscli gradcheck`: analytic gradients of built-in losses or of users' own code vs finite differences."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .. import gradcheck as checker
from .. import usercode
from ..errors import InputError, LossCliError
from ..inputs import InputPlan
from ..registry import get_loss
from ..render.gradcheck import print_result, print_summary
from .common import (
    EXIT_CHECK_FAILED,
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


@error_boundary
def gradcheck(
    target: Annotated[str | None, typer.Argument(
        metavar="LOSS|FILE.py:OBJ",
        help="A loss name, or your own code: FILE.py:ClassName (forward(y_pred, y_true) -> loss, backward() -> "
             "dL/dy_pred) or FILE.py:loss_fn,grad_fn. The file is Python code and is EXECUTED: only check "
             "files you trust. It is loaded from that path alone.")] = None,
    check_all: Annotated[bool, typer.Option("--all", help="Check every registered loss; one summary table.")] = False,
    eps: Annotated[float, typer.Option(help="Finite-difference step h.")] = checker.DEFAULT_EPS,
    atol: Annotated[float, typer.Option(help="Absolute tolerance per element.")] = checker.DEFAULT_ATOL,
    rtol: Annotated[float, typer.Option(help="Relative tolerance per element.")] = checker.DEFAULT_RTOL,
    seed: Annotated[int, typer.Option(help="Seed of the random inputs and directions.")] = 0,
    size: Annotated[int | None, typer.Option(
        min=1, help=f"Rows of random inputs [default: {checker.DEFAULT_SIZE}].")] = None,
    mode: Annotated[Mode, typer.Option(
        help="full: every element; directional: random ±1 directions; auto: full up to a size limit.")] = Mode.auto,
    directions: Annotated[int, typer.Option(
        min=1, help="Random directions in directional mode.")] = checker.DEFAULT_DIRECTIONS,
    inputs: Annotated[list[str] | None, typer.Option(
        "--inputs", metavar="FILE", help="Check at your data instead of random draws: one file per input, "
                                         "repeated in the loss's input order (.csv, .parquet, .npy).")] = None,
    like: Annotated[str | None, typer.Option(
        metavar="LOSS", help="Your code: draw inputs (shapes, domain) with this registered loss's generator.")] = None,
    init: Annotated[list[str] | None, typer.Option(
        metavar="KEY=VALUE", help="Your class's constructor argument, repeatable (e.g. --init delta=2).")] = None,
    target_format: Annotated[TargetFormat, typer.Option(
        help="Your code with --like on a classification loss: class targets as one-hot rows [N, C] "
             "(the seed's protocol) or integer class ids [N].")] = TargetFormat.onehot,
    param: ParamOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Check analytic gradients against central finite differences.

    Built-in losses are checked on the sum of their per-sample losses, so a gradient 1 % off
    fails at any --size (a mean's gradient shrinks as 1/N and would hide it). An element passes
    when |analytic - numeric| <= atol + rtol·|numeric|; elements at a kink (left and right slopes
    differ, e.g. |x| at 0) are counted and left out. Your own code is checked on the scalar it
    returns, with atol scaled by the gradient's size. Exit 0 all pass, 1 a check failed, 2 bad usage.

    \b
    Example:
        losscli gradcheck focal
        losscli gradcheck --all
        losscli gradcheck triplet --mode directional --directions 8 --size 100000
        losscli gradcheck my_losses.py:HuberLoss --like huber --init delta=1.0
    """
    _check_usage(target, check_all, inputs, size, like, init, target_format)
    settings = checker.Settings(eps, atol, rtol, mode.value, directions, seed, size or checker.DEFAULT_SIZE)
    params = parse_params(param)
    if check_all:
        results = checker.check_all(**_options(settings))
        print_summary(stdout, results, output_format.value)
        passed = all(result.passed for result in results)
    else:
        runner = _check_user_code if usercode.is_user_code(target) else _check_builtin
        result = runner(target, settings, params, inputs, like, init, target_format.value)
        print_result(stdout, result, output_format.value)
        passed = result.passed
    if not passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _check_usage(target, check_all, inputs, size, like, init, target_format) -> None:
    """Reject conflicting or misplaced options up front, naming the flags."""
    if check_all == (target is not None):
        raise LossCliError("give a LOSS or FILE.py:OBJ to check, or --all (not both)")
    if check_all and inputs:
        raise LossCliError("--inputs checks one loss at given data; it cannot be combined with --all")
    if inputs and size is not None:
        raise LossCliError("--size draws random rows; it cannot be combined with --inputs")
    user = target is not None and usercode.is_user_code(target)
    extras = [flag for flag, given in (("--like", like), ("--init", init),
                                       ("--target-format", target_format is not TargetFormat.onehot)) if given]
    if extras and not user:
        raise LossCliError(f"{', '.join(extras)} appl{'ies' if len(extras) == 1 else 'y'} to your own code "
                           "(FILE.py:OBJ), not to built-in losses")
    if user and not (like or inputs):
        raise LossCliError("your code needs inputs: --like LOSS (random inputs of that loss) or --inputs FILE...")


def _options(settings: checker.Settings) -> dict:
    return {"eps": settings.eps, "atol": settings.atol, "rtol": settings.rtol, "mode": settings.mode,
            "directions": settings.directions, "seed": settings.seed, "size": settings.size}


def _check_builtin(target, settings, params, inputs, like, init, target_format):
    spec = get_loss(target)
    if not inputs:
        return checker.gradcheck(spec, params=params, **_options(settings))
    batch = InputPlan.build(spec, inputs).load()
    with batch.located():
        return checker.gradcheck(spec, batch.arrays, params=params, **_options(settings))


def _check_user_code(target, settings, params, inputs, like, init, target_format):
    user = usercode.load_user_loss(target, usercode.parse_init(init))
    if inputs:
        arrays, explain = _read_user_inputs(inputs, like)
        try:
            arrays = usercode.validated_inputs(like, arrays, params) if like else arrays
        except InputError as error:
            raise explain(error) from None
    else:
        arrays = usercode.borrow_inputs(like, params=params, size=settings.size, seed=settings.seed,
                                        target_format=target_format)
    return usercode.check_user_loss(user, arrays, settings)


def _read_user_inputs(paths: list[str], like: str | None):
    """Files for your code: shaped as ``like``'s inputs when given, else as read (y_pred, y_true, ...)."""
    names = ["y_pred", "y_true", *(f"input{index}" for index in range(3, len(paths) + 1))][:len(paths)]
    batch = InputPlan.build(get_loss(like) if like else names, paths).load()
    return batch.arrays, batch.locate
