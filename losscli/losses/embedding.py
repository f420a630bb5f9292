"""Embedding losses: contrastive (pairs), triplet and InfoNCE.

All are row-wise: embeddings are [N, D] (InfoNCE keys [N, K, D]) and the loss has one value
per row. Distances are Euclidean.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from . import double_double as dd
from ._numerics import (
    euclidean_distance,
    log_softmax,
    power_of_two_scale,
    row_band,
    safe_divide,
    softmax_times_total_minus,
)


def contrastive(x1: np.ndarray, x2: np.ndarray, labels: np.ndarray, *, margin: float) -> np.ndarray:
    """Contrastive loss of embedding pairs (Hadsell, Chopra & LeCun, 2006), per row.

    ½·y·d² + ½·(1-y)·max(0, m - d)² with d = ||x1 - x2||. Label convention of the seed's
    code: y = 1 means same class (pull together), y = 0 different (push apart up to m).
    x1, x2: [N, D]; labels: [N] -> [N].
    """
    distance, _ = euclidean_distance(x1, x2)
    # each term is 0 where its label weight is, also when its square overflows (d or m beyond 1.3e154)
    with np.errstate(over="ignore"):
        # (½·y·d)·d: finite wherever ½·y·d² is (d² alone overflows from d = 1.3e154)
        pull = np.where(labels == 0, 0.0, 0.5 * labels * distance * distance)
        hinge = np.maximum(0.0, _margin_gap(x1, x2, margin, distance, labels != 1))
        push = np.where(labels == 1, 0.0, 0.5 * (1.0 - labels) * hinge * hinge)
    return pull + push


def contrastive_gradient(x1, x2, labels, *, margin):
    """∂/∂x1 = [y - (1-y)·max(0, m - d)/d]·(x1 - x2);  ∂/∂x2 = -∂/∂x1 (0 for the hinge at d = 0)."""
    distance, difference = euclidean_distance(x1, x2)
    gap = _margin_gap(x1, x2, margin, distance, labels != 1)
    # the hinge's push along the unit vector (x1 - x2)/d: 1/d overflows for a subnormal distance, the unit does not
    push = ((1.0 - labels) * np.maximum(0.0, gap))[:, None] * _unit(difference, distance)
    grad_x1 = labels[:, None] * difference - push
    return {"x1": grad_x1, "x2": -grad_x1}


def _margin_gap(x1, x2, margin, distance, pushed):
    """m - ||x1 - x2||; in rows of ``pushed`` where d is within row_band of m, from the double-double distance
    (m - d is then the distance's last digits: √2 against the float nearest it)."""
    gap = margin - distance
    rows = np.flatnonzero(pushed & (np.abs(gap) <= row_band(x1.shape[-1]) * margin))
    if rows.size:
        scale = power_of_two_scale(x1[rows] - x2[rows])[:, 0]
        gap[rows] = (margin / scale - _scaled_distance(x1[rows], x2[rows], scale)).value() * scale
    return gap


def _scaled_distance(first: np.ndarray, second: np.ndarray, scale: np.ndarray) -> dd.DD:
    """||first - second|| / scale in double-double ([n, D], [n] -> [n]): the difference exact (two-sum), scaled
    by the power of two ``scale``, its squares exact, their sum and root to ~1e-32."""
    high, low = dd.two_sum(first, -second)
    scaled = dd.DD(high / scale[:, None], low / scale[:, None])
    return dd.sqrt(dd.total(scaled * scaled))


def _unit(difference: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """difference / distance row-wise, and 0 where the distance is 0 (a subgradient choice)."""
    return safe_divide(difference, distance[:, None])


def triplet(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, *, margin: float) -> np.ndarray:
    """Triplet margin loss (Schroff et al., 2015), per row: max(0, d(a, p) - d(a, n) + m).

    anchor, positive, negative: [N, D] -> [N]. Equals torch's triplet_margin_loss with eps=0.
    """
    distance_pos, _ = euclidean_distance(anchor, positive)
    distance_neg, _ = euclidean_distance(anchor, negative)
    return np.maximum(0.0, _triplet_hinge(anchor, positive, negative, margin, distance_pos, distance_neg))


def _triplet_hinge(anchor, positive, negative, margin, distance_pos, distance_neg):
    """d(a, p) - d(a, n) + m from the float64 distances; where it cancels below row_band of its terms, from
    double-double ones (at d(a, p) = √2, d(a, n) = 2 and m = fl(2 - √2) it is √2's rounding error, 1e-17)."""
    hinge = distance_pos - distance_neg + margin
    size = distance_pos + distance_neg + margin
    rows = np.flatnonzero(np.abs(hinge) <= row_band(anchor.shape[-1]) * size)
    if rows.size:
        a, p, n = anchor[rows], positive[rows], negative[rows]
        scale = np.maximum(power_of_two_scale(a - p), power_of_two_scale(a - n))[:, 0]
        exact = _scaled_distance(a, p, scale) - _scaled_distance(a, n, scale) + margin / scale
        hinge[rows] = exact.value() * scale
    return hinge


def triplet_gradient(anchor, positive, negative, *, margin):
    """Where the hinge is active: ∂/∂p = -(a-p)/d_ap, ∂/∂n = (a-n)/d_an, ∂/∂a = -(∂/∂p + ∂/∂n)."""
    distance_pos, to_positive = euclidean_distance(anchor, positive)
    distance_neg, to_negative = euclidean_distance(anchor, negative)
    hinge = _triplet_hinge(anchor, positive, negative, margin, distance_pos, distance_neg)
    active = (hinge > 0).astype(np.float64)[:, None]
    grad_positive = -active * _unit(to_positive, distance_pos)
    grad_negative = active * _unit(to_negative, distance_neg)
    return {"anchor": -(grad_positive + grad_negative), "positive": grad_positive, "negative": grad_negative}


def _shifted_similarities(query: np.ndarray, keys: np.ndarray, temperature: float) -> np.ndarray:
    """s_k - max_k s_k with s_k = q·k_k / τ: [N, D], [N, K, D] -> [N, K].

    The dot products are taken of q and k scaled by powers of two (exact) and scaled back after the
    shift, so norms of 1e160 (q·k = 1e320) give -inf for the keys that lose, not inf - inf.
    """
    query_scale = power_of_two_scale(query)  # [N, 1]
    key_scale = np.max(power_of_two_scale(keys), axis=1)  # [N, 1]
    scaled = np.einsum("nd,nkd->nk", query / query_scale, keys / key_scale[:, :, None])
    gap = scaled - np.max(scaled, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(gap == 0.0, 0.0, gap * (query_scale * key_scale) / temperature)


def infonce(query: np.ndarray, keys: np.ndarray, *, temperature: float, positive_idx: int) -> np.ndarray:
    """InfoNCE (van den Oord et al., 2018), per row: -log softmax(q·k / τ)[positive_idx].

    Computed with log-softmax, so τ = 0.01 and large dot products stay finite.
    query: [N, D]; keys: [N, K, D] -> [N].
    """
    return -log_softmax(_shifted_similarities(query, keys, temperature))[:, positive_idx]


def infonce_gradient(query, keys, *, temperature, positive_idx):
    """With g = softmax(s) - e_pos over the K similarities s_k = q·k_k / τ:
    ∂/∂q = Σ_k g_k·k_k / τ,  ∂/∂k_k = g_k·q / τ."""
    shifted = _shifted_similarities(query, keys, temperature)
    positive = np.zeros_like(shifted)
    positive[:, positive_idx] = 1.0
    weights = softmax_times_total_minus(shifted, positive)  # g_pos = -(1 - p_pos), not p_pos - 1 = 0 at τ = 1e-6
    with np.errstate(over="ignore"):
        return {"query": np.einsum("nk,nkd->nd", weights, keys / temperature),
                "keys": weights[:, :, None] * (query / temperature)[:, None, :]}


def check_positive_idx(arrays, params):
    num_keys = arrays["keys"].shape[1]
    if params["positive_idx"] >= num_keys:
        raise InputError(f"positive_idx {params['positive_idx']} is out of range for {num_keys} keys per query",
                         input_name="keys")


SAMPLE_DIM = 4


def _unit_rows(rng, shape):
    vectors = rng.normal(size=shape)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def sample_contrastive(rng, n, params):
    margin = params["margin"]
    # Distances at least 10 % away from the margin and from 0 (the hinge's kinks).
    distance = np.where(rng.random(n) < 0.5, rng.uniform(0.1, 0.9, n), rng.uniform(1.1, 2.0, n))
    distance *= max(margin, 0.1)
    x1 = rng.normal(size=(n, SAMPLE_DIM))
    x2 = x1 + distance[:, None] * _unit_rows(rng, (n, SAMPLE_DIM))
    return {"x1": x1, "x2": x2, "labels": rng.integers(0, 2, n).astype(np.float64)}


def sample_triplet(rng, n, params):
    margin = params["margin"]
    distance_pos = rng.uniform(0.9, 1.5, n)
    # hinge argument d_p - d_n + m kept at least 0.1 from its kink at 0, on both sides
    hinge = rng.choice([-1.0, 1.0], n) * rng.uniform(0.1, 0.8, n)
    distance_neg = distance_pos + margin - hinge
    anchor = rng.normal(size=(n, SAMPLE_DIM))
    return {"anchor": anchor,
            "positive": anchor + distance_pos[:, None] * _unit_rows(rng, (n, SAMPLE_DIM)),
            "negative": anchor + distance_neg[:, None] * _unit_rows(rng, (n, SAMPLE_DIM))}


SAMPLE_KEYS = 6


def sample_infonce(rng, n, params):
    query = _unit_rows(rng, (n, SAMPLE_DIM))
    keys = _unit_rows(rng, (n, SAMPLE_KEYS, SAMPLE_DIM))
    positive = params["positive_idx"] % SAMPLE_KEYS
    keys[:, positive] = _unit_rows(rng, (n, SAMPLE_DIM)) * 0.3 + query
    return {"query": query, "keys": keys}


def _embedding(name, help_text):
    return InputSpec(name, (("N", "D"),), Domain.REAL, True, help_text)


CONTRASTIVE = LossSpec(
    name="contrastive", aliases=("contrastive_loss",), task=Task.EMBEDDING,
    example_files=("sample_data/pairs_x1.csv", "sample_data/pairs_x2.csv", "sample_data/pairs_labels.csv"),
    inputs=(_embedding("x1", "first embedding of each pair"), _embedding("x2", "second embedding of each pair"),
            InputSpec("labels", (("N",),), Domain.LABEL, False, "1 = same class (pull together), 0 = different")),
    params=(ParamSpec("margin", 1.0, "distance beyond which dissimilar pairs cost nothing", low=0.0),),
    forward=contrastive, gradient=contrastive_gradient, sample=sample_contrastive,
    formula="½·y·d² + ½·(1-y)·max(0, m - d)²,  d = ||x1 - x2||",
    gradient_formula="∂/∂x1 = [y - (1-y)·max(0, m-d)/d]·(x1 - x2),  ∂/∂x2 = -∂/∂x1",
    when_to_use="Similarity learning from labelled pairs (siamese networks, verification).",
    output_activation="L2-normalised embeddings",
    notes="Label 1 = same class (pull together), 0 = different (push apart up to the margin), as in the "
          "reference code of the loss-functions notes losscli started from (their formula swaps the roles of y).",
    accurate_range="½·d² is inf beyond a distance of 1.9e154 (label 1), as is the truth",
)

TRIPLET = LossSpec(
    name="triplet", aliases=("triplet_margin",), task=Task.EMBEDDING,
    example_files=("sample_data/triplet_anchor.csv", "sample_data/triplet_positive.csv",
                   "sample_data/triplet_negative.csv"),
    inputs=(_embedding("anchor", "anchor embeddings"), _embedding("positive", "same-class embeddings"),
            _embedding("negative", "other-class embeddings")),
    params=(ParamSpec("margin", 0.2, "how much closer the positive must be than the negative", low=0.0),),
    forward=triplet, gradient=triplet_gradient, sample=sample_triplet,
    formula="max(0, ||a - p|| - ||a - n|| + m)",
    gradient_formula="active rows: ∂/∂p = (p-a)/||a-p||, ∂/∂n = (a-n)/||a-n||, ∂/∂a = -(∂/∂p + ∂/∂n)",
    when_to_use="Ranking and retrieval embeddings: a positive must be closer than a negative by a margin.",
    output_activation="L2-normalised embeddings",
    torch_equivalent="torch.nn.functional.triplet_margin_loss(eps=0)",
)

INFONCE = LossSpec(
    name="infonce", aliases=("info_nce", "ntxent"), task=Task.EMBEDDING,
    example_files=("sample_data/infonce_query.csv", "sample_data/infonce_keys.csv"),
    inputs=(InputSpec("query", (("N", "D"),), Domain.REAL, True, "query embeddings"),
            InputSpec("keys", (("N", "K", "D"),), Domain.REAL, True,
                      "K candidate keys per query, one of them positive (CSV: K·D columns per row)")),
    params=(ParamSpec("temperature", 0.07, "softmax temperature τ: smaller is sharper", low=0.0, low_inclusive=False),
            ParamSpec("positive_idx", 0, "index of the positive key among the K keys", low=0, kind="int")),
    forward=infonce, gradient=infonce_gradient, sample=sample_infonce, check=check_positive_idx,
    formula="-log[exp(q·k₊/τ) / Σ_k exp(q·k_k/τ)]",
    gradient_formula="g = softmax(q·k/τ) - e₊;  ∂/∂q = Σ_k g_k·k_k/τ,  ∂/∂k_k = g_k·q/τ",
    when_to_use="Contrastive self-supervised learning with many negatives per query (CPC, SimCLR, CLIP).",
    output_activation="L2-normalised embeddings",
    torch_equivalent="torch.nn.functional.cross_entropy(q·k/τ, positive_idx)",
)

SPECS = (CONTRASTIVE, TRIPLET, INFONCE)
