"""Krippendorff's alpha at nominal, ordinal and interval levels, with bootstrap CIs.

Formula (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", sections A-F;
Krippendorff 2019, *Content Analysis*, 4th ed., ch. 12):

    alpha = 1 - D_o / D_e = 1 - (n.. - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck

where o is the coincidence matrix summed over units, o_ck = sum_u (number of c-k pairs in
u) / (m_u - 1), m_u the number of values in unit u (units with m_u < 2 are not pairable and
contribute nothing), n_c = sum_k o_ck, n.. = sum_c n_c, and d the level's distance:

    nominal   d_ck = [c != k]
    interval  d_ck = (c - k)^2
    ordinal   d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2

Missing data and uneven numbers of values per unit need nothing special: they only change
m_u. Values are counted per unit, so which coder gave which value does not matter (alpha is
invariant to shuffling values among coders inside a unit). The result equals the
``krippendorff`` package (Castro 2017, https://github.com/pln-fing-udelar/fast-krippendorff)
to floating-point precision; tests hold it to 1e-9.

Degenerate input is explicit, never 0 or 1: no unit with two values gives "fewer than two
pairable values"; pairable values all in one category gives "one category only" (D_e = 0).

Bootstrap: units are resampled with replacement; a resample's coincidence matrix is the
weighted sum of per-unit coincidence matrices, so all resamples are one matrix product
(``weights (B, N) @ per_unit (N, V*V)``). 95% percentile intervals, 1000 resamples by default,
randomness only from the ``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bootstrap import CONFIDENCE, N_RESAMPLES, percentile_ci, resample_blocks
from .results import Estimate, undefined

LEVELS = ("nominal", "ordinal", "interval")

NO_PAIRABLE = "fewer than two pairable values: no unit has two or more ratings"
ONE_CATEGORY = "one category only: every pairable value is the same, so expected disagreement is 0"


def value_counts(
    units: np.ndarray, values: np.ndarray, domain: np.ndarray, n_units: int | None = None
) -> np.ndarray:
    """(n_units, V) counts of each domain value per unit from long data (one row per value).

    ``units`` are 0-based unit indices, ``values`` the ratings (NaN rows are skipped),
    ``domain`` the sorted possible values. A value outside the domain raises ValueError.
    """
    units = np.asarray(units, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    domain = np.asarray(domain, dtype=np.float64)
    keep = ~np.isnan(values)
    units, values = units[keep], values[keep]
    n = int(units.max()) + 1 if n_units is None and units.size else (n_units or 0)
    idx = np.searchsorted(domain, values)
    idx_clipped = np.minimum(idx, len(domain) - 1)
    if values.size and not np.array_equal(domain[idx_clipped], values):
        bad = values[domain[idx_clipped] != values][0]
        raise ValueError(f"value {bad:g} is not in the value domain {domain.tolist()}")
    v = len(domain)
    return np.bincount(units * v + idx_clipped, minlength=n * v).reshape(n, v)


def value_counts_from_matrix(
    reliability_data: np.ndarray | Sequence, domain: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts from a (coders, units) matrix with NaN for missing, the ``krippendorff``
    package's ``reliability_data`` layout. The domain defaults to the sorted values present."""
    data = np.asarray(reliability_data, dtype=np.float64)
    present = data[~np.isnan(data)]
    dom = np.unique(present) if domain is None else np.asarray(domain, dtype=np.float64)
    coders, n = data.shape
    units = np.broadcast_to(np.arange(n), (coders, n))
    return value_counts(units.ravel(), data.ravel(), dom, n_units=n), dom


def unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """(N, V, V) per-unit coincidence matrices: (n_u n_u^T - diag(n_u)) / (m_u - 1), zero for
    units with fewer than two values. Their sum over units is Krippendorff's o."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :]
    v = counts.shape[1]
    diag = np.arange(v)
    outer[:, diag, diag] -= counts
    scale = np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)
    return outer * scale[:, None, None]


def distances(domain: np.ndarray, level: str, n_v: np.ndarray) -> np.ndarray:
    """Distance matrix d_ck (shape (..., V, V), batched over the leading axes of ``n_v``).

    The ordinal distance depends on the marginals n_v (Krippendorff 2011, section D), hence
    the batch axis: each bootstrap resample has its own."""
    domain = np.asarray(domain, dtype=np.float64)
    v = len(domain)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(v), (*n_v.shape[:-1], v, v))
    if level == "interval":
        diff = domain[:, None] - domain[None, :]
        return np.broadcast_to(diff * diff, (*n_v.shape[:-1], v, v))
    if level == "ordinal":
        i = np.arange(v)
        lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
        cum = np.cumsum(n_v, axis=-1)
        before = cum - n_v
        between = cum[..., hi] - before[..., lo]
        return (between - (n_v[..., lo] + n_v[..., hi]) / 2.0) ** 2
    raise ValueError(f"unknown level of measurement {level!r}; use one of {LEVELS}")


def alpha_from_coincidences(o: np.ndarray, domain: np.ndarray, level: str) -> np.ndarray:
    """Alpha from summed coincidence matrices o (shape (..., V, V)); NaN where undefined
    (n.. < 2 or D_e = 0)."""
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1)
    d = distances(domain, level, n_v)
    observed = (o * d).sum(axis=(-2, -1))
    expected = (n_v[..., :, None] * n_v[..., None, :] * d).sum(axis=(-2, -1))  # diag(d) = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        result = 1.0 - (n - 1.0) * observed / expected
    return np.where((n >= 2) & (expected > 0), result, np.nan)


def _point(o: np.ndarray, domain: np.ndarray, level: str, n_units: int) -> Estimate | float:
    n_pairable = int(round(o.sum()))
    if n_units == 0:
        return undefined(NO_PAIRABLE)
    if np.count_nonzero(o.sum(axis=1)) < 2:
        return undefined(ONE_CATEGORY, n_units=n_units, n_pairable=n_pairable)
    return float(alpha_from_coincidences(o, domain, level))


def alpha_many(
    counts: Sequence[np.ndarray],
    domains: Sequence[np.ndarray],
    levels: Sequence[Sequence[str]],
    *,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> list[dict[str, Estimate]]:
    """Alpha for several variables measured on the same units (e.g. the criteria of a
    rating form), each at one or more levels, with CIs from one shared set of resamples.

    ``counts[i]`` is variable i's (N, V_i) value counts (same N and unit order for all),
    ``domains[i]`` its sorted values, ``levels[i]`` the levels to report. The resampled
    units are those pairable in at least one variable; for a single variable that is
    exactly the classic bootstrap over its pairable units. Without ``rng`` no CI is computed.
    """
    counts = [np.asarray(c) for c in counts]
    pairable_any = np.zeros(counts[0].shape[0], dtype=bool) if counts else np.zeros(0, dtype=bool)
    for c in counts:
        pairable_any |= c.sum(axis=1) >= 2
    per_unit = [unit_coincidences(c[pairable_any]) for c in counts]
    n_units = [int((c.sum(axis=1) >= 2).sum()) for c in counts]
    return alpha_from_unit_coincidences(
        per_unit, domains, levels, n_units, rng=rng, n_resamples=n_resamples, confidence=confidence
    )


def alpha_from_unit_coincidences(
    per_unit: Sequence[np.ndarray],
    domains: Sequence[np.ndarray],
    levels: Sequence[Sequence[str]],
    n_units: Sequence[int],
    *,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> list[dict[str, Estimate]]:
    """The engine behind ``alpha_many``: ``per_unit[i]`` is variable i's (N, V_i, V_i)
    coincidences per resampling unit (the same N units for every variable).

    A resampling unit may hold several of Krippendorff's units: pooling the criteria of a
    response gives one (V, V) matrix per response, so the bootstrap resamples responses (a
    cluster bootstrap, as ratings of one response are not independent across criteria)."""
    points, per_flat = [], []
    for u, dom, lvls, n in zip(per_unit, domains, levels, n_units, strict=True):
        v = len(dom)
        o = u.sum(axis=0) if u.shape[0] else np.zeros((v, v))
        per_flat.append(u.reshape(u.shape[0], v * v))
        points.append({lvl: _point(o, np.asarray(dom, dtype=float), lvl, n) for lvl in lvls})
    samples: list[dict[str, list[np.ndarray]]] = [{lvl: [] for lvl in lvls} for lvls in levels]
    need_ci = (
        rng is not None
        and n_resamples > 0
        and any(isinstance(v, float) for p in points for v in p.values())
    )
    if need_ci:
        stacked = np.hstack(per_flat)
        offsets = np.cumsum([0] + [p.shape[1] for p in per_flat])
        for weights in resample_blocks(rng, stacked.shape[0], n_resamples):
            summed = weights @ stacked
            for i, (dom, lvls) in enumerate(zip(domains, levels, strict=True)):
                v = len(dom)
                o_b = summed[:, offsets[i] : offsets[i + 1]].reshape(-1, v, v)
                for lvl in lvls:
                    if isinstance(points[i][lvl], float):
                        samples[i][lvl].append(
                            alpha_from_coincidences(o_b, np.asarray(dom, dtype=float), lvl)
                        )
    out = []
    for i, lvls in enumerate(levels):
        row = {}
        for lvl in lvls:
            point = points[i][lvl]
            if not isinstance(point, float):
                row[lvl] = point
                continue
            low = high = None
            if need_ci:
                low, high = percentile_ci(np.concatenate(samples[i][lvl]), confidence)
            row[lvl] = Estimate(
                value=point,
                ci_low=low,
                ci_high=high,
                n_units=n_units[i],
                n_pairable=int(round(per_unit[i].sum())),
                n_resamples=n_resamples if need_ci else 0,
            )
        out.append(row)
    return out


def alpha(
    counts: np.ndarray,
    domain: np.ndarray | Sequence[float],
    level: str = "interval",
    *,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Alpha of one variable from (N, V) value counts; see the module docstring."""
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}; use one of {LEVELS}")
    return alpha_many(
        [counts],
        [np.asarray(domain, dtype=float)],
        [[level]],
        rng=rng,
        n_resamples=n_resamples,
        confidence=confidence,
    )[0][level]


def alpha_matrix(
    reliability_data: np.ndarray | Sequence,
    level: str = "interval",
    *,
    domain: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
) -> Estimate:
    """Alpha from a (coders, units) matrix with NaN for missing values."""
    counts, dom = value_counts_from_matrix(reliability_data, domain)
    return alpha(counts, dom, level, rng=rng, n_resamples=n_resamples)
