"""Naive references for issue 6 regression losses (rmse, smooth_l1, log_cosh, quantile, msle, mape,
poisson_nll, gaussian_nll, tweedie)."""

REFERENCES_REGRESSION_MORE = {}
