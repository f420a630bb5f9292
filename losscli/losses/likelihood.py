"""Likelihood-based regression losses (issue 6): Poisson and Gaussian NLL, Tweedie deviance."""

SPECS = ()
