"""One test-side record per loss (see tests/loss_cases.py), grouped as losscli/losses/ groups the specs."""
