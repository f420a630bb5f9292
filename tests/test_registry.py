"""The registry (names, parameters, documentation, input generators) and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from loss_cases import CASES

import losscli
from losscli import InputError, LossCliError, ParameterError, UnknownLossError, compute, get_loss
from losscli.spec import Domain, Task

SPEC_IDS = [spec.name for spec in losscli.LOSSES]
by_spec = pytest.mark.parametrize("spec", losscli.LOSSES, ids=SPEC_IDS)


# --- names and aliases ----------------------------------------------------------------------

def test_names_are_the_catalogue_in_order():
    assert losscli.names() == tuple(spec.name for spec in losscli.LOSSES)


def test_every_loss_has_one_test_record_and_every_record_a_loss():
    # a loss is added with its spec and one record in tests/cases/ (its references, torch equivalent, extremes)
    missing = sorted(set(losscli.names()) - set(CASES))
    stale = sorted(set(CASES) - set(losscli.names()))
    assert not missing, f"no test record for {missing}: add a LossCase to tests/cases/ (see tests/loss_cases.py)"
    assert not stale, f"test records for losses not in the registry: {stale} (tests/cases/)"


def test_canonical_names_and_aliases_are_unique():
    every = [key for spec in losscli.LOSSES for key in (spec.name, *spec.aliases)]
    duplicates = {key for key in every if every.count(key) > 1}
    assert not duplicates, f"names or aliases used twice: {duplicates}"


@by_spec
def test_name_and_aliases_resolve(spec):
    for key in (spec.name, *spec.aliases):
        assert get_loss(key) is spec
        assert get_loss(key.upper()) is spec
        assert get_loss(key.replace("_", "-")) is spec
    assert get_loss(spec) is spec


@pytest.mark.parametrize(("alias", "name"), [("l2", "mse"), ("l1", "mae"), ("L2", "mse"), ("ppl", "perplexity"),
                                             ("binary-cross-entropy", "bce")])
def test_well_known_aliases(alias, name):
    assert get_loss(alias).name == name


@pytest.mark.parametrize(("typo", "suggestion"), [("msee", "mse"), ("hubber", "huber"), ("tripplet", "triplet"),
                                                  ("infonc", "infonce")])
def test_unknown_name_suggests_the_closest(typo, suggestion):
    with pytest.raises(UnknownLossError, match=f"unknown loss '{typo}'; did you mean '{suggestion}'"):
        get_loss(typo)


def test_unknown_name_without_close_match():
    with pytest.raises(UnknownLossError, match="unknown loss 'zzzqqq'") as error:
        get_loss("zzzqqq")
    assert "did you mean" not in str(error.value)
    with pytest.raises(UnknownLossError):
        compute("zzzqqq", [1.0], [1.0])


# --- parameters -----------------------------------------------------------------------------

@by_spec
def test_param_defaults_lie_in_their_own_range(spec):
    for param in spec.params:
        assert param.parse(param.default) == param.default, f"{spec.name}.{param.name}"
        assert param.help, f"{spec.name}.{param.name} has no help"
    assert spec.resolve_params() == spec.defaults()


def test_seed_defaults():
    # the defaults the issue fixes
    assert get_loss("huber").defaults() == {"delta": 1.0}
    assert get_loss("bce").defaults() == {"eps": 1e-15}
    # class weights: None = not given (1 for every class); ignore_index: torch's -100
    assert get_loss("label_smoothing").defaults() == {"smoothing": 0.1, "weight": None, "ignore_index": -100}
    assert get_loss("focal").defaults() == {"alpha": 0.25, "gamma": 2.0, "eps": 1e-15}
    assert get_loss("contrastive").defaults() == {"margin": 1.0}
    assert get_loss("triplet").defaults() == {"margin": 0.2}
    assert get_loss("infonce").defaults() == {"temperature": 0.07, "positive_idx": 0}


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ParameterError, match=r"unknown parameter 'beta' for huber \(valid: delta\)"):
        get_loss("huber").resolve_params({"beta": 1.0})
    with pytest.raises(ParameterError, match=r"valid: alpha, gamma, eps"):
        compute("focal", [0.5], [1.0], params={"gama": 1.0})
    with pytest.raises(ParameterError, match=r"unknown parameter 'delta' for mse \(valid: none\)"):
        compute("mse", [0.5], [1.0], params={"delta": 1.0})


@pytest.mark.parametrize(("name", "param", "value", "message"), [
    ("huber", "delta", -1.0, "delta must be > 0, got -1"),
    ("huber", "delta", 0.0, "delta must be > 0, got 0"),
    ("infonce", "temperature", 0.0, "temperature must be > 0"),
    ("infonce", "temperature", -0.07, "temperature must be > 0"),
    ("focal", "gamma", -0.5, "gamma must be >= 0"),
    ("focal", "alpha", 1.5, "alpha must be >= 0 and <= 1"),
    ("label_smoothing", "smoothing", 1.1, "smoothing must be >= 0 and <= 1"),
    ("contrastive", "margin", -1.0, "margin must be >= 0"),
    ("triplet", "margin", -0.2, "margin must be >= 0"),
    ("bce", "eps", 0.5, "eps must be >= 0 and < 0.5"),
    ("infonce", "positive_idx", -1, "positive_idx must be >= 0"),
    ("infonce", "positive_idx", 1.5, "positive_idx expects an integer"),
    ("huber", "delta", "abc", "delta expects a number, got 'abc'"),
    ("huber", "delta", None, "delta expects a number"),
    ("huber", "delta", math.nan, "delta must be finite"),
    ("huber", "delta", "inf", "delta must be finite"),
])
def test_bad_parameter_values_are_rejected(name, param, value, message):
    with pytest.raises(ParameterError, match=message):
        get_loss(name).resolve_params({param: value})


def test_parameters_from_command_line_strings():
    assert get_loss("huber").resolve_params({"delta": "2.5"}) == {"delta": 2.5}
    resolved = get_loss("infonce").resolve_params({"positive_idx": "2", "temperature": "0.5"})
    assert resolved == {"temperature": 0.5, "positive_idx": 2}
    assert isinstance(resolved["positive_idx"], int)


def test_positive_idx_beyond_the_keys_is_an_input_error():
    query, keys = np.ones((2, 3)), np.ones((2, 4, 3))
    with pytest.raises(InputError, match="positive_idx 4 is out of range for 4 keys"):
        compute("infonce", query, keys, params={"positive_idx": 4})


# --- documentation --------------------------------------------------------------------------

@by_spec
def test_every_spec_is_documented(spec):
    for field in ("formula", "gradient_formula", "when_to_use", "output_activation"):
        text = getattr(spec, field)
        assert isinstance(text, str) and text.strip(), f"{spec.name} has no {field}"
    assert isinstance(spec.task, Task)
    assert spec.inputs and spec.differentiable_inputs, f"{spec.name} has no differentiable input"
    for input_spec in spec.inputs:
        assert input_spec.help.strip(), f"{spec.name} input {input_spec.name} has no help"
        assert isinstance(input_spec.domain, Domain)
    assert set(spec.reductions) <= {"mean", "sum", "none"} and "mean" in spec.reductions
    if spec.logits_alternative is not None:
        assert get_loss(spec.logits_alternative).name == spec.logits_alternative


@by_spec
def test_accurate_range_is_one_line(spec):
    # describe prints it as one line: "exp overflows above ...: inf, as is the truth"
    assert "\n" not in spec.accurate_range and len(spec.accurate_range) <= 160, spec.name


def test_contrastive_documents_its_label_convention():
    notes = get_loss("contrastive").notes + get_loss("contrastive").inputs[2].help
    assert "1 = same class" in notes


# --- input generators -----------------------------------------------------------------------

@by_spec
@pytest.mark.parametrize("rows", [1, 3, 16])
def test_sample_inputs_pass_validation(spec, rows):
    for seed in range(3):
        inputs = spec.sample(np.random.default_rng(seed), rows, spec.defaults())
        assert tuple(inputs) == spec.input_names, f"{spec.name}.sample must return its inputs in order"
        for name, array in inputs.items():
            assert array.dtype == np.float64 and array.shape[0] == rows, f"{spec.name}.{name}: {array.shape}"
        result = compute(spec, inputs)  # raises if the sample is invalid
        assert np.isfinite(result.value)


@by_spec
def test_sample_is_reproducible(spec):
    first = spec.sample(np.random.default_rng(42), 6, spec.defaults())
    again = spec.sample(np.random.default_rng(42), 6, spec.defaults())
    other = spec.sample(np.random.default_rng(43), 6, spec.defaults())
    for name in spec.input_names:
        np.testing.assert_array_equal(first[name], again[name])
    assert any(not np.array_equal(first[name], other[name]) for name in spec.input_names)


@pytest.mark.parametrize(("name", "params"), [("huber", {"delta": 0.1}), ("contrastive", {"margin": 3.0}),
                                              ("triplet", {"margin": 2.0}), ("infonce", {"positive_idx": 5})])
def test_sample_respects_non_default_params(name, params):
    spec = get_loss(name)
    resolved = spec.resolve_params(params)
    inputs = spec.sample(np.random.default_rng(0), 20, resolved)
    compute(spec, inputs, params=params)


def test_samples_stay_away_from_kinks():
    rng = np.random.default_rng(1)
    huber = get_loss("huber").sample(rng, 200, {"delta": 1.0})
    residual = np.abs(huber["pred"] - huber["target"])
    assert np.all(np.abs(residual - 1.0) >= 0.1 - 1e-12)
    mae = get_loss("mae").sample(rng, 200, {})
    assert np.all(np.abs(mae["pred"] - mae["target"]) >= 0.1 - 1e-12)
    triplet = get_loss("triplet").sample(rng, 200, {"margin": 0.2})
    hinge = (np.linalg.norm(triplet["anchor"] - triplet["positive"], axis=1)
             - np.linalg.norm(triplet["anchor"] - triplet["negative"], axis=1) + 0.2)
    assert np.all(np.abs(hinge) >= 0.1 - 1e-9)
    bce = get_loss("bce").sample(rng, 200, {"eps": 1e-15})
    assert np.all((bce["pred"] >= 0.05) & (bce["pred"] <= 0.95))


def test_regression_samples_stay_away_from_kinks_and_clamps():
    rng = np.random.default_rng(11)
    for name in ("rmse", "quantile"):
        sample = get_loss(name).sample(rng, 500, get_loss(name).defaults())
        assert np.all(np.abs(sample["pred"] - sample["target"]) >= 0.1 - 1e-12), name
    mape = get_loss("mape").sample(rng, 500, {})
    assert np.all(np.abs(mape["target"]) >= 0.5)
    assert np.all(np.abs(mape["pred"] - mape["target"]) >= 0.05 * np.abs(mape["target"]) - 1e-12)
    for beta in (0.3, 1.0, 4.0):
        sample = get_loss("smooth_l1").sample(rng, 500, {"beta": beta})
        assert np.all(np.abs(np.abs(sample["pred"] - sample["target"]) - beta) >= 0.1 * beta - 1e-12)
    gaussian = get_loss("gaussian_nll").sample(rng, 500, {"full": False, "eps": 0.1})
    assert np.all(gaussian["var"] >= 0.2 + 0.2)


# --- validation errors ----------------------------------------------------------------------

def test_row_count_mismatch_gives_both_counts():
    with pytest.raises(InputError, match="row-count mismatch: target has 2 rows, pred has 3"):
        compute("mse", [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InputError, match="row-count mismatch: labels has 3 rows, x1 has 2"):
        compute("contrastive", np.ones((2, 2)), np.ones((2, 2)), [1.0, 0.0, 1.0])


def test_inner_dimension_mismatch():
    with pytest.raises(InputError, match="inner-dimension mismatch: positive has D=2, anchor has D=3") as error:
        compute("triplet", np.ones((4, 3)), np.ones((4, 2)), np.ones((4, 3)))
    assert error.value.input_name == "positive"
    with pytest.raises(InputError, match="inner-dimension mismatch: target has C=4, logits has C=3"):
        compute("softmax_cross_entropy", np.zeros((2, 3)), np.full((2, 4), 0.25))


def test_wrong_rank():
    with pytest.raises(InputError, match=r"expected shape \[N, K, D\], got 2-D"):
        compute("infonce", np.ones((2, 3)), np.ones((2, 3)))


def test_wrong_number_of_inputs():
    with pytest.raises(LossCliError, match=r"triplet takes 3 inputs \(anchor, positive, negative\), got 2"):
        compute("triplet", np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(LossCliError, match="missing \\['target'\\]"):
        compute("mse", {"pred": [1.0]})


def test_inputs_by_name():
    assert compute("mse", {"target": [0.0, 0.0], "pred": [1.0, 3.0]}).value == 5.0


def test_probabilities_outside_unit_interval_hint_at_logits():
    with pytest.raises(InputError, match=r"expected probabilities in \[0, 1\], got 2.5") as error:
        compute("bce", [0.5, 2.5, 0.1], [1.0, 0.0, 1.0])
    assert error.value.input_name == "pred"
    assert error.value.row == 1
    assert "bce_logits" in str(error.value)
    with pytest.raises(InputError, match="focal_logits"):
        compute("focal", [-0.2], [1.0])
    with pytest.raises(InputError, match="softmax_cross_entropy"):
        compute("cross_entropy", [[2.0, -1.0]], [0])


def test_labels_outside_unit_interval():
    with pytest.raises(InputError, match=r"expected labels in \[0, 1\], got 2") as error:
        compute("bce", [0.5, 0.5], [1.0, 2.0])
    assert (error.value.input_name, error.value.row) == ("target", 1)
    with pytest.raises(InputError, match=r"expected labels in \[0, 1\], got -1"):
        compute("contrastive", np.ones((2, 2)), np.zeros((2, 2)), [1.0, -1.0])
    with pytest.raises(InputError, match="expected labels"):
        compute("bce_logits", [3.0], [1.5])


@pytest.mark.parametrize(("name", "scores"), [("cross_entropy", np.full((3, 3), 1 / 3)),
                                              ("softmax_cross_entropy", np.zeros((3, 3))),
                                              ("label_smoothing", np.zeros((3, 3))),
                                              ("lm_nll", np.zeros((3, 3)))])
def test_bad_class_ids(name, scores):
    with pytest.raises(InputError, match=r"expected class ids in \[0, 2\] for 3 classes, got 3") as error:
        compute(name, scores, [0, 3, 1])
    assert error.value.row == 1
    with pytest.raises(InputError, match=r"expected class ids in \[0, 2\] for 3 classes, got -1"):
        compute(name, scores, [0, 1, -1])
    with pytest.raises(InputError, match="expected integer class ids, got 1.5"):
        compute(name, scores, [0, 1.5, 1])


def test_token_ids_out_of_range_in_sequences():
    with pytest.raises(InputError, match=r"expected class ids in \[0, 4\] for 5 classes, got 5") as error:
        compute("perplexity", np.zeros((2, 3, 5)), [[0, 1, 2], [3, 4, 5]])
    assert error.value.row == 1 and error.value.column == 2


def test_one_hot_rows_must_sum_to_one():
    with pytest.raises(InputError, match="summing to 1, got 2") as error:
        compute("softmax_cross_entropy", np.zeros((2, 3)), [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    assert error.value.row == 1
    with pytest.raises(InputError, match="summing to 1"):
        compute("cross_entropy", [[0.6, 0.6]], [0])
    with pytest.raises(InputError, match=r"expected class probabilities in \[0, 1\]"):
        compute("label_smoothing", np.zeros((1, 2)), [[1.5, -0.5]])


def test_nan_raises_by_default():
    with pytest.raises(InputError, match="expected finite values, got nan") as error:
        compute("mse", [1.0, np.nan, 3.0], [0.0, 0.0, 0.0])
    assert (error.value.input_name, error.value.row) == ("pred", 1)
    assert "omit" in str(error.value)
    with pytest.raises(InputError, match="expected finite values, got inf"):
        compute("mse", [1.0, 2.0], [np.inf, 0.0])


def test_unknown_nan_policy():
    with pytest.raises(ParameterError, match="unknown nan policy 'ignore'"):
        compute("mse", [1.0], [0.0], nan_policy="ignore")


def _with_nan(spec, row):
    inputs = spec.sample(np.random.default_rng(3), 6, spec.defaults())
    first = spec.input_names[0]
    inputs[first] = inputs[first].copy()
    inputs[first].reshape(6, -1)[row, 0] = np.nan  # a view: the first value of that row
    return inputs


@by_spec
def test_nan_policy_omit_drops_the_row(spec):
    inputs = _with_nan(spec, 2)
    kept = np.arange(6) != 2
    omitted = compute(spec, inputs, nan_policy="omit")
    without = compute(spec, {name: array[kept] for name, array in inputs.items()})
    assert omitted.value == without.value
    np.testing.assert_array_equal(omitted.kept_rows, kept)
    for name, grad in omitted.gradients.items():
        np.testing.assert_array_equal(grad, without.gradients[name])
    with pytest.raises(InputError, match="expected finite values"):
        compute(spec, inputs)


@pytest.mark.filterwarnings("error")
@by_spec
def test_nan_policy_propagate_gives_nan(spec):
    # the NaN row's loss is NaN, quietly (no RuntimeWarning), the other rows are untouched
    inputs = _with_nan(spec, 4)
    result = compute(spec, inputs, nan_policy="propagate")
    assert math.isnan(result.value)
    per_sample = compute(spec, inputs, nan_policy="propagate", reduction="none").per_sample
    assert np.isnan(per_sample[4]).any(), "the NaN row's loss is NaN"
    assert np.all(np.isfinite(np.delete(per_sample, 4, axis=0))), "other rows stay finite"


def test_nan_in_every_row_under_omit():
    with pytest.raises(InputError, match="every row has a NaN"):
        compute("mse", [np.nan, np.nan], [0.0, 0.0], nan_policy="omit")


def test_nan_class_ids_rejected_even_under_propagate():
    with pytest.raises(InputError, match="expected class ids"):
        compute("softmax_cross_entropy", np.zeros((2, 3)), [0, np.nan], nan_policy="propagate")
