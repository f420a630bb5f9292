"""`losscli plot`: loss and gradient curves as an image, or as a text plot in the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from ..outputs import check_outputs
from .common import ParamOption, error_boundary, parameter_files, parse_params, stderr, stdout


@error_boundary
def plot(
    losses: Annotated[list[str], typer.Argument(metavar="LOSS...", help="Losses to draw.")],
    out: Annotated[str, typer.Option(
        "--out", "-o", help="Image file (.png, .svg, .pdf; needs losscli[plot]) or - for a text plot.")],
    x_range: Annotated[str | None, typer.Option(
        "--range", metavar="A,B",
        help="x range: residual for regression (default -3,3), p_t for classification (default 0.05,1).")] = None,
    param: ParamOption = None,
    points: Annotated[int, typer.Option(min=2, help="Grid points per curve.")] = 401,
) -> None:
    """Draw each loss and its gradient against the residual or the probability of the true class.

    Regression losses are drawn against the residual ŷ - y, binary ones against the predicted
    probability of the true class. A comma list of parameter values draws one curve per value
    (-p focal.gamma=0,1,2,5). --out FILE.png writes an image with matplotlib
    (pip install 'losscli[plot]'); --out - prints a text plot.

    \b
    Example:
        losscli plot mse mae huber --out losses.png
        losscli plot bce focal -p focal.gamma=1,2,5 -p focal.alpha=1 --out -
        losscli plot huber -p delta=0.5,1,2 --range=-4,4 --out -
    """
    from ..plot import loss_curves, save_image

    check_outputs(parameter_files(param), {"--out": out})
    curves = loss_curves(losses, parse_params(param), x_range, points)
    if out == "-":
        from ..render.textplot import curves_text

        stdout.out(curves_text(curves))
    else:
        save_image(curves, out)
        stderr.print(f"wrote {out}", markup=False)
