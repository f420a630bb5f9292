"""Regenerate the files in sample_data/ (deterministic: fixed seed, fixed rounding).

Run from the repository root: python sample_data/make_samples.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
ROWS = 12


def write_csv(name, header, rows, fmt="%.6g"):
    rows = np.asarray(rows, dtype=float)
    rows = rows.reshape(rows.shape[0], -1)
    np.savetxt(HERE / name, rows, delimiter=",", header=",".join(header), comments="", fmt=fmt)


def unit(rows):
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def main():
    rng = np.random.default_rng(2024)
    # The seed's outlier example: the 100 is the outlier.
    write_csv("outliers_pred.csv", ["pred"], [1.5, 2.5, 3.5, 4.0])
    write_csv("outliers_target.csv", ["target"], [1.0, 2.0, 3.0, 100.0])

    labels = rng.integers(0, 2, ROWS)
    logits = np.round(rng.normal(0, 1.5, ROWS) + (2 * labels - 1), 4)
    write_csv("binary_logits.csv", ["logit"], logits)
    write_csv("binary_probs.csv", ["prob"], np.round(1 / (1 + np.exp(-logits)), 6))
    write_csv("binary_labels.csv", ["label"], labels, fmt="%d")

    classes = 3
    class_ids = rng.integers(0, classes, ROWS)
    class_logits = np.round(rng.normal(0, 1, (ROWS, classes)) + 2 * np.eye(classes)[class_ids], 4)
    probs = np.exp(class_logits - class_logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    write_csv("multiclass_logits.csv", [f"logit_{c}" for c in range(classes)], class_logits)
    write_csv("multiclass_probs.csv", [f"p_{c}" for c in range(classes)], probs, fmt="%.9f")
    write_csv("multiclass_labels.csv", ["class_id"], class_ids, fmt="%d")
    write_csv("multiclass_onehot.csv", [f"y_{c}" for c in range(classes)], np.eye(classes)[class_ids], fmt="%d")

    dim = 4
    x1 = unit(rng.normal(size=(ROWS, dim)))
    same = rng.integers(0, 2, ROWS)
    x2 = unit(x1 + np.where(same[:, None] == 1, 0.3, 1.5) * rng.normal(size=(ROWS, dim)))
    columns = [f"e{d}" for d in range(dim)]
    write_csv("pairs_x1.csv", columns, np.round(x1, 5))
    write_csv("pairs_x2.csv", columns, np.round(x2, 5))
    write_csv("pairs_labels.csv", ["same"], same, fmt="%d")

    anchor = unit(rng.normal(size=(ROWS, dim)))
    positive = unit(anchor + 0.4 * rng.normal(size=(ROWS, dim)))
    negative = unit(anchor + 1.2 * rng.normal(size=(ROWS, dim)))
    for name, values in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        write_csv(f"triplet_{name}.csv", columns, np.round(values, 5))

    keys_per_query = 5
    query = unit(rng.normal(size=(ROWS, dim)))
    keys = unit(rng.normal(size=(ROWS, keys_per_query, dim)))
    keys[:, 0] = unit(query + 0.5 * rng.normal(size=(ROWS, dim)))
    write_csv("infonce_query.csv", columns, np.round(query, 5))
    write_csv("infonce_keys.csv", [f"k{k}_e{d}" for k in range(keys_per_query) for d in range(dim)],
              np.round(keys, 5))

    batch, steps, vocab = 2, 6, 8
    targets = rng.integers(0, vocab, (batch, steps))
    lm_logits = rng.normal(0, 1, (batch, steps, vocab)) + 1.5 * np.eye(vocab)[targets]
    np.save(HERE / "lm_logits.npy", np.round(lm_logits, 4))
    np.save(HERE / "lm_targets.npy", targets.astype(np.int64))

    # One file holding several inputs, a weight and a group column, for --col / --weights.
    import pyarrow as pa
    import pyarrow.parquet as pq

    y = np.round(rng.normal(10, 3, 40), 3)
    yhat = np.round(y + rng.normal(0, 1, 40) + np.where(np.arange(40) % 13 == 0, 8.0, 0.0), 3)
    table = pa.table({"id": [f"s{i:02d}" for i in range(40)], "yhat": yhat, "y": y,
                      "weight": np.round(rng.uniform(0.5, 2.0, 40), 2), "segment": np.arange(40) % 3})
    pq.write_table(table, HERE / "eval.parquet")
    make_likelihood_samples()
    make_distribution_samples()
    make_regression_table()


def make_likelihood_samples():
    """Counts, a Gaussian mean and variance, and claims with exact zeros: poisson_nll, gaussian_nll, tweedie."""
    rng = np.random.default_rng(606)  # its own stream: the files above stay byte-identical
    rate = np.exp(rng.normal(1.0, 0.8, ROWS))
    write_csv("counts_target.csv", ["count"], rng.poisson(rate), fmt="%d")
    write_csv("counts_log_rate.csv", ["log_rate"], np.round(np.log(rate) + rng.normal(0, 0.3, ROWS), 4))

    target = np.round(rng.normal(5, 2, ROWS), 4)
    var = np.round(rng.uniform(0.25, 4.0, ROWS), 4)
    write_csv("gaussian_target.csv", ["target"], target)
    write_csv("gaussian_mean.csv", ["mean"], np.round(target + rng.normal(0, 1, ROWS) * np.sqrt(var), 4))
    write_csv("gaussian_var.csv", ["var"], var)

    expected = np.round(np.exp(rng.normal(5, 0.5, ROWS)), 2)
    claims = np.where(rng.random(ROWS) < 0.4, 0.0, np.round(expected * rng.gamma(2.0, 0.8, ROWS), 2))
    write_csv("claims_pred.csv", ["expected"], expected)
    write_csv("claims_target.csv", ["claim"], claims)


def make_distribution_samples():
    """A student's log-probabilities and a teacher's probabilities (two rows one-hot): kl_div."""
    rng = np.random.default_rng(707)  # its own stream: the files above stay byte-identical
    classes = 3
    teacher = rng.normal(0, 1.5, (ROWS, classes))
    student = teacher + rng.normal(0, 0.7, (ROWS, classes))
    log_pred = student - np.log(np.exp(student).sum(1, keepdims=True))
    target = np.exp(teacher) / np.exp(teacher).sum(1, keepdims=True)
    target[[2, 7]] = np.eye(classes)[[0, 2]]  # one-hot rows: 0·log 0 = 0
    write_csv("kl_log_pred.csv", [f"log_q_{c}" for c in range(classes)], log_pred, fmt="%.9f")
    write_csv("kl_target.csv", [f"p_{c}" for c in range(classes)], target, fmt="%.9f")


def make_regression_table():
    """The seed's regression demo data with 10 % gross outliers (losscli.demos), for `losscli fit`."""
    from losscli.demos import FEATURES, regression_data

    features, target = regression_data(outliers=True)
    write_csv("regression_outliers.csv", [*FEATURES, "y"], np.column_stack([features, target]), fmt="%.17g")


if __name__ == "__main__":
    main()
