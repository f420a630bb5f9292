"""The cosine-embedding loss: pairs of embeddings [N, D] and signed pair labels, row-wise,
as torch's cosine_embedding_loss, kept accurate near cos = ±1 and at the margin by a
double-double recompute of the rows that need it.
"""

from __future__ import annotations

import numpy as np

from ..spec import Domain, InputSpec, LossSpec, ParamSpec, Task
from . import double_double as dd
from ._numerics import power_of_two_scale, row_band, scaled_norm
from .margin import signed

# torch's cosine_embedding_loss adds this to both squared norms (EPSILON in its source); so do we.
COSINE_EPS = 1e-12
COSINE_ROOT_EPS = 1e-6  # √COSINE_EPS


def _cosine(x1, x2):
    """cos = x1·x2 / sqrt((|x1|² + ε)(|x2|² + ε)) row-wise, torch's definition, and its parts.

    Computed as v1·v2 with v_i = x_i / R_i, R_i = sqrt(|x_i|² + ε) = hypot(|x_i|, √ε) from the scaled
    norm: no square of a 1e160 norm overflows and no 1e-170 one underflows; |v_i| <= 1.
    """
    lengths1 = np.hypot(scaled_norm(x1), COSINE_ROOT_EPS)[:, None]
    lengths2 = np.hypot(scaled_norm(x2), COSINE_ROOT_EPS)[:, None]
    unit1, unit2 = x1 / lengths1, x2 / lengths2
    return np.einsum("nd,nd->n", unit1, unit2), unit1, unit2, lengths1, lengths2


def _cosine_parts(x1, x2):
    """(cos clipped to [-1, 1], 1 - |cos|, v1, v2, R1, R2) with _cosine's parts. Within 2^-4 of cos = ±1,
    1 - |cos| = ½|v1 ∓ v2|² + ½ε/R1² + ½ε/R2² (as |v_i|² = 1 - ε/R_i²): no cancellation, relatively accurate to
    ~2^-53/|v1 ∓ v2| where 1 - cos itself has only 2^-53 absolute (2e-15 of it at 2^-4)."""
    cos, unit1, unit2, lengths1, lengths2 = _cosine(x1, x2)
    # rounding can put cos one ulp beyond ±1 (parallel vectors): clipped, so no loss is -2e-16
    cos = np.clip(cos, -1.0, 1.0)
    gap = 1.0 - np.abs(cos)
    near = np.flatnonzero(gap < 2.0**-4)
    if near.size:
        apart = unit1[near] - np.sign(cos[near])[:, None] * unit2[near]
        shares = (COSINE_ROOT_EPS / lengths1[near, 0]) ** 2 + (COSINE_ROOT_EPS / lengths2[near, 0]) ** 2
        gap[near] = 0.5 * np.einsum("nd,nd->n", apart, apart) + 0.5 * shares
    return cos, gap, unit1, unit2, lengths1, lengths2


def _cos_minus(cos, gap, margin):
    """cos - m, near cos = ±1 from 1 - |cos|: (1 - m) - (1 - cos) or (1 + cos) - (1 + m)."""
    return np.where(cos > 0.5, (1.0 - margin) - gap, np.where(cos < -0.5, gap - (1.0 + margin), cos - margin))


def cosine(x1: np.ndarray, x2: np.ndarray, labels: np.ndarray, *, margin: float) -> np.ndarray:
    """Cosine-embedding loss (torch's cosine_embedding_loss), per row.

    1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - m) for y = -1 (or 0). x1, x2: [N, D];
    labels: [N] -> [N].
    """
    cos, gap, unit1, unit2, *_ = _cosine_parts(x1, x2)
    similar = 0.5 * (1.0 + signed(labels))  # 1 for y = 1, 0 for y = -1 (arithmetic keeps NaN labels NaN)
    below_margin = _cos_minus(cos, gap, margin)
    loss = similar * np.where(cos > 0.5, gap, 1.0 - cos) + (1.0 - similar) * np.maximum(0.0, below_margin)
    parallel, at_margin = _ill_conditioned_rows(gap, below_margin, x1, x2, labels, unit1, unit2)
    if parallel.size:
        exact = _ExactCosine(x1[parallel], x2[parallel])
        loss[parallel] = np.where(similar[parallel] == 1.0, exact.one_minus.value(),
                                  np.maximum(0.0, exact.minus(margin).value()))
    if at_margin.size:
        loss[at_margin] = np.maximum(0.0, (_exact_cos(x1[at_margin], x2[at_margin]) - margin).value())
    return loss


def cosine_gradient(x1, x2, labels, *, margin):
    """With ∂cos/∂x1 = x2/r - cos·x1/(|x1|²+ε) and ∂cos/∂x2 = x1/r - cos·x2/(|x2|²+ε),
    r = sqrt((|x1|²+ε)(|x2|²+ε)): the loss's slope in cos is -1 (y = 1), 1 or 0 (y = -1)."""
    cos, gap, unit1, unit2, lengths1, lengths2 = _cosine_parts(x1, x2)
    similar = 0.5 * (1.0 + signed(labels))
    # the cosine of two 1e-300 vectors underflows to 0 (1e-600 / ε): whether it exceeds the margin is then
    # the sign of the dot product of the power-of-two-scaled vectors against the margin's
    positive = np.einsum("nd,nd->n", x1 / power_of_two_scale(x1), x2 / power_of_two_scale(x2)) > 0.0
    below_margin = _cos_minus(cos, gap, margin)
    active = np.where(cos == 0.0, (margin < 0.0) | ((margin == 0.0) & positive), below_margin > 0.0)
    # x2/r - cos·x1/R1² = (v2 - cos·v1)/R1 (r = R1·R2), within 2^-4 of cos = ±1 as (v2 ∓ v1) ± (1 - |cos|)·v1
    grad1, grad2 = (unit2 - cos[:, None] * unit1) / lengths1, (unit1 - cos[:, None] * unit2) / lengths2
    near = np.flatnonzero(gap < 2.0**-4)
    if near.size:
        sign, shrink = np.sign(cos[near])[:, None], (np.sign(cos[near]) * gap[near])[:, None]
        grad1[near] = ((unit2[near] - sign * unit1[near]) + shrink * unit1[near]) / lengths1[near]
        grad2[near] = ((unit1[near] - sign * unit2[near]) + shrink * unit2[near]) / lengths2[near]
    parallel, at_margin = _ill_conditioned_rows(gap, below_margin, x1, x2, labels, unit1, unit2)
    if parallel.size:
        exact = _ExactCosine(x1[parallel], x2[parallel])
        active[parallel] = exact.minus(margin).hi > 0.0
        grad1[parallel], grad2[parallel] = exact.gradients()
    if at_margin.size:  # away from parallel the float64 gradient keeps its digits: only which side of m counts
        active[at_margin] = (_exact_cos(x1[at_margin], x2[at_margin]) - margin).hi > 0.0
    slope = (-similar + (1.0 - similar) * active)[:, None]
    return {"x1": slope * grad1, "x2": slope * grad2}


# 1 - |cos| near ±1 keeps ~2^-53/|v1 ∓ v2| relative error (_cosine_parts), as does the gradient ∝ v2 ∓ v1: within
# NEAR_PARALLEL of cos = ±1 they go to _ExactCosine, as do y = -1 rows whose cos - m (cos carrying ~√D·2^-53
# absolute) is below the margin band
NEAR_PARALLEL = 2.0**-16  # measured just beyond it: 4e-14 (value), 2e-13 (gradient) for D = 3 to 768
EXACT_SCALES = (2.0**-400, 2.0**1000)  # norms whose ε/|x|² neither overflows nor matters beyond the doubles


def _ill_conditioned_rows(gap, below_margin, x1, x2, labels, unit1, unit2):
    """The rows whose loss or gradient float64 cannot give to 1e-13, in norms EXACT_SCALES can take: (those
    within NEAR_PARALLEL of cos = ±1, the y = -1 ones near the margin). float64's cos = v1·v2 errs by up to
    ~(1 + √D/8)·2^-53 of the dot product's bound Σ|v1_j·v2_j| + |cos|: rows with |cos - m| below row_band(D) of
    that bound go to _exact_cos (measured below 4e-14 beyond it for D = 3 to 768, m from -0.9 to 0.9)."""
    near_parallel, band = gap <= NEAR_PARALLEL, row_band(x1.shape[-1])
    label = signed(labels)  # a NaN label is in neither: its loss stays NaN
    candidates = np.flatnonzero((near_parallel & (np.abs(label) == 1.0))
                                | ((label == -1.0) & (np.abs(below_margin) <= 2.0 * band)))
    # x2 = ±x1 exactly (duplicated pairs): v1 ∓ v2 = 0, and _cosine_parts' 1 - |cos| = ε/R² and gradient
    # ±ε·x/R⁴ are already exact to rounding; the exact path would cost ~50x per row
    mirrored = np.all(x1[candidates] == x2[candidates], axis=1) | np.all(x1[candidates] == -x2[candidates], axis=1)
    candidates = candidates[~mirrored]
    bound = np.einsum("nd,nd->n", np.abs(unit1[candidates]), np.abs(unit2[candidates])) + (1.0 - gap[candidates])
    rows = candidates[near_parallel[candidates] | (np.abs(below_margin[candidates]) <= band * bound)]
    scales = np.concatenate([power_of_two_scale(x1[rows]), power_of_two_scale(x2[rows])], axis=1)
    rows = rows[np.all((scales >= EXACT_SCALES[0]) & (scales <= EXACT_SCALES[1]), axis=1)]
    return rows[near_parallel[rows]], rows[~near_parallel[rows]]


def _scaled_rows(x1, x2):
    """_ExactCosine's terms of both inputs: (scales s_i, units u_i = x_i/s_i, shares e_i = ε/s_i² (exact),
    |u_i|² in double-double)."""
    scales = power_of_two_scale(x1), power_of_two_scale(x2)
    units = x1 / scales[0], x2 / scales[1]
    shares = [COSINE_EPS / scale[:, 0] / scale[:, 0] for scale in scales]
    return scales, units, shares, [dd.dot(unit, unit) for unit in units]


def _exact_cos(x1, x2) -> dd.DD:
    """cos = u1·u2/sqrt((|u1|² + e1)(|u2|² + e2)) in double-double, in _ExactCosine's terms: O(D), enough for
    cos - m away from cos = ±1 (to ~1e-32 absolute)."""
    _, units, shares, norms = _scaled_rows(x1, x2)
    return dd.dot(*units) / dd.sqrt((norms[0] + shares[0]) * (norms[1] + shares[1]))


class _ExactCosine:
    """torch's cos(x1, x2) of rows [n, D] in double-double, with 1 ∓ cos free of cancellation.

    With x_i = s_i·u_i (s_i a power of two), e_i = ε/s_i² and ρ_i² = |u_i|² + e_i: cos = u1·u2/(ρ1ρ2) and
    1 - cos² = (|W|² + e1|u2|² + e2|u1|² + e1e2)/(ρ1²ρ2²), a sum of non-negative terms, W = u1 ∧ u2; 1 - cos =
    (1 - cos²)/(1 + cos) for cos >= 0, and 1 + cos likewise for cos < 0. W in O(D) and without cancellation:
    with p the index of u2's largest entry, r = u1 - t·u2 (t = u1_p/u2_p) has r_j = (u1_j·u2_p - u1_p·u2_j)/u2_p,
    an exact difference of exact products (r = 0 for parallel rows), and |W|² = |r|²|u2|² - (r·u2)², where r
    (r_p = 0) is at least 1/√D away from parallel to u2.
    """

    def __init__(self, x1: np.ndarray, x2: np.ndarray):
        self.scales, self.units, self.shares, norms = _scaled_rows(x1, x2)
        self.squares = [norm + share for norm, share in zip(norms, self.shares, strict=True)]  # ρ_i²
        first, second = self.units
        pivot = np.argmax(np.abs(second), axis=-1)[:, None]
        second_p, first_p = (np.take_along_axis(unit, pivot, axis=-1) for unit in (second, first))
        divisor = np.where(second_p == 0.0, 1.0, second_p)  # u2 = 0: r = 0, and so is W
        rest = (dd.DD(*dd.two_product(first, second_p)) - dd.DD(*dd.two_product(first_p, second))) / divisor
        ratio = dd.DD(first_p) / divisor  # t
        rest_dot, rest_square = dd.total(rest * second), dd.total(rest * rest)
        wedge_square = rest_square * norms[1] - rest_dot * rest_dot
        # w1 = u2|u1|² - (u1·u2)·u1 and w2 = u1|u2|² - (u1·u2)·u2 (x2|x1|² - (x1·x2)·x1 scaled), in r and t
        self.w = (second * (rest_square + ratio[:, 0] * rest_dot)[:, None]
                  - rest * (rest_dot + ratio[:, 0] * norms[1])[:, None],
                  rest * norms[1][:, None] - second * rest_dot[:, None])
        sine_square = (wedge_square + norms[1] * self.shares[0] + norms[0] * self.shares[1]
                       + self.shares[0] * self.shares[1])
        self.cos = dd.dot(first, second) / dd.sqrt(self.squares[0] * self.squares[1])
        one_minus_square = sine_square / (self.squares[0] * self.squares[1])
        nonnegative = self.cos.hi >= 0.0
        self.one_minus = dd.where(nonnegative, one_minus_square / (self.cos + 1.0), 1.0 - self.cos)
        self.one_plus = dd.where(nonnegative, self.cos + 1.0, one_minus_square / (1.0 - self.cos))

    def minus(self, margin: float) -> dd.DD:
        """cos - m: directly for |cos| <= ½ (exactly 0 for orthogonal rows at m = 0), beyond as (1 - m) - (1 - cos)
        or (1 + cos) - (1 + m), whichever side cos is on (1 ± m exact), so that cos = ±1 ∓ 1e-20 keeps its 1e-20."""
        sided = dd.where(self.cos.hi >= 0.0, dd.DD(*dd.two_sum(1.0, -margin)) - self.one_minus,
                         self.one_plus - dd.DD(*dd.two_sum(1.0, margin)))
        return dd.where(np.abs(self.cos.hi) <= 0.5, self.cos - margin, sided)

    def gradients(self):
        """∂cos/∂x1 = (w1 + e1·u2)/(s1·ρ1³ρ2) and ∂cos/∂x2 = (w2 + e2·u1)/(s2·ρ2³ρ1): exact 0 for parallel rows
        of large norm, where float64's (v2 - cos·v1)/R1 leaves 1e-16/|x|."""
        unit1, unit2 = self.units
        roots = [np.sqrt(square.value()) for square in self.squares]
        first = (self.w[0] + unit2 * self.shares[0][:, None]).value() / (roots[0] ** 3 * roots[1])[:, None]
        second = (self.w[1] + unit1 * self.shares[1][:, None]).value() / (roots[1] ** 3 * roots[0])[:, None]
        return first / self.scales[0], second / self.scales[1]


SAMPLE_DIM = 4


def _cosines_away_from(margin, rng, n):
    """Cosines in [-0.95, 0.95] at least 0.1 from the margin (the kink of y = -1 rows)."""
    below, above = max(0.0, margin - 0.1 + 0.95), max(0.0, 0.95 - margin - 0.1)
    draw = rng.uniform(0.0, below + above, n)
    return np.where(draw < below, -0.95 + draw, margin + 0.1 + (draw - below))


def sample_cosine(rng, n, params):
    cos = _cosines_away_from(params["margin"], rng, n)
    x1 = rng.normal(size=(n, SAMPLE_DIM))
    along = x1 / np.linalg.norm(x1, axis=1, keepdims=True)
    other = rng.normal(size=(n, SAMPLE_DIM))
    other -= np.einsum("nd,nd->n", other, along)[:, None] * along
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    x2 = rng.uniform(0.5, 2.0, (n, 1)) * (cos[:, None] * along + np.sqrt(1.0 - cos**2)[:, None] * other)
    return {"x1": x1, "x2": x2, "labels": rng.choice([-1.0, 1.0], n)}


COSINE = LossSpec(
    name="cosine", aliases=("cosine_embedding", "cosine_embedding_loss"), task=Task.EMBEDDING,
    example_files=("sample_data/pairs_x1.csv", "sample_data/pairs_x2.csv", "sample_data/pairs_labels.csv"),
    inputs=(InputSpec("x1", (("N", "D"),), Domain.REAL, True, "first embedding of each pair"),
            InputSpec("x2", (("N", "D"),), Domain.REAL, True, "second embedding of each pair"),
            InputSpec("labels", (("N",),), Domain.SIGNED_LABEL, False,
                      "1 = similar (pull together), -1 or 0 = dissimilar (push below the margin)")),
    params=(ParamSpec("margin", 0.0, "cosine below which dissimilar pairs cost nothing", low=-1.0, high=1.0),),
    forward=cosine, gradient=cosine_gradient, sample=sample_cosine,
    formula="1 - cos(x1, x2) if y = 1;  max(0, cos(x1, x2) - m) if y = -1",
    gradient_formula="∂cos/∂x1 = x2/(|x1||x2|) - cos·x1/|x1|²  (and symmetrically for x2); "
                     "times -1 (y = 1) or 1 where cos > m (y = -1)",
    when_to_use="Similarity learning from labelled pairs when only the direction of an embedding matters.",
    output_activation="any embeddings (the loss normalises them)",
    torch_equivalent="torch.nn.functional.cosine_embedding_loss",
    notes="Norms as torch: |x|² + 1e-12 under the square root, so a zero vector has cosine 0; cos is clipped to "
          "[-1, 1] against rounding (torch does not clip: at most 2.2e-16 apart). Label 0 is read as "
          "-1 (dissimilar), so contrastive's 0/1 pair labels work; torch gives label 0 a loss of 0 instead.",
)

SPECS = (COSINE,)
