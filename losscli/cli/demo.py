"""`losscli demo`: the seed's teaching examples, reproduced and printed."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .common import FormatOption, OutputFormat, error_boundary, stdout


class DemoName(str, Enum):
    outliers = "outliers"
    regression = "regression"
    focal = "focal"


@error_boundary
def demo(
    name: Annotated[DemoName, typer.Argument(help="outliers, regression or focal.")],
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Run a classic example: why the choice of loss matters.

    outliers: MSE, MAE and Huber on targets 1, 2, 3, 100 vs predictions 1.5, 2.5, 3.5, 4.0,
    with the outlier's share of each loss and gradient. regression: a linear
    regression (100 × 3, w = [1.5, -2, 0.5], noise 0.1, seed 42) fitted by MSE, MAE and Huber,
    clean and with 10 % gross outliers. focal: focal loss for several gamma against BCE on
    easy and hard examples.

    \b
    Example:
        losscli demo outliers
        losscli demo regression --format markdown
    """
    {DemoName.outliers: _outliers, DemoName.regression: _regression, DemoName.focal: _focal}[name](
        output_format.value)


def _outliers(fmt: str) -> None:
    from ..compare import compare
    from ..render.compare import print_comparison

    print_comparison(stdout, compare(["mse", "mae", "huber"]), fmt,
                     "Outlier example (targets 1, 2, 3, 100; predictions 1.5, 2.5, 3.5, 4.0)")


def _regression(fmt: str) -> None:
    from ..demos import TRUE_WEIGHTS, regression_demo
    from ..render.fit import print_fits

    results = regression_demo()
    labels = {"clean": "clean data", "outliers": "10 rows' targets replaced by U(20, 50) outliers"}
    print_fits(stdout, [item.fit for item in results], fmt, true_weights=TRUE_WEIGHTS,
               datasets=[labels[item.dataset] if fmt in ("table", "markdown") else item.dataset for item in results],
               title="Regression demo (100 × 3, w = [1.5, -2, 0.5], noise 0.1, seed 42)")


def _focal(fmt: str) -> None:
    from ..demos import FOCAL_PROBABILITIES, focal_columns, focal_table
    from ..render.demo import print_focal

    print_focal(stdout, focal_table(), focal_columns(), fmt, FOCAL_PROBABILITIES)
