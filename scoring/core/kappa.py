"""Cohen's kappa (two coders, also for every coder pair at once) and Fleiss' kappa."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import CONFIDENCE, N_RESAMPLES, percentile_ci, resample_blocks
from .results import Estimate, undefined

MIN_SHARED = 20
WEIGHTINGS = (None, "linear", "quadratic")


def _weights(n_categories: int, weighting: str | None) -> np.ndarray:
    """Disagreement weights w_ck: 1 - [c == k] (unweighted), |c - k| / (K - 1) (linear) or
    ((c - k) / (K - 1))^2 (quadratic; Cohen 1968, Fleiss & Cohen 1973)."""
    i = np.arange(n_categories)
    if weighting is None:
        return 1.0 - np.eye(n_categories)
    span = max(n_categories - 1, 1)
    if weighting == "linear":
        return np.abs(i[:, None] - i[None, :]) / span
    if weighting == "quadratic":
        return ((i[:, None] - i[None, :]) / span) ** 2
    raise ValueError(f"unknown weighting {weighting!r}; use one of {WEIGHTINGS}")


def _kappa_from_confusion(confusion: np.ndarray, w: np.ndarray) -> np.ndarray:
    """kappa = 1 - sum w O / sum w E, E = outer(row marginals, column marginals) / n, batched
    over leading axes; NaN where sum w E = 0 (both coders used one and the same category)."""
    n = confusion.sum(axis=(-2, -1))
    rows, cols = confusion.sum(axis=-1), confusion.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[..., :, None] * cols[..., None, :] / n[..., None, None]
        observed_d = (w * confusion).sum(axis=(-2, -1))
        expected_d = (w * expected).sum(axis=(-2, -1))
        return np.where(expected_d > 0, 1.0 - observed_d / expected_d, np.nan)


def cohen_kappa(
    x: np.ndarray, y: np.ndarray, n_categories: int, *, weighting: str | None = None
) -> Estimate:
    """Cohen's kappa (Cohen 1960) of two coders over the same units.

        kappa = (p_o - p_e) / (1 - p_e),  p_o = share of agreeing units,
        p_e = sum_c p_x(c) p_y(c)

    ``x`` and ``y`` are category indices 0..n_categories-1 for the same units. Weighted kappa
    with ``weighting="linear" | "quadratic"``. Undefined (value None) with no shared units,
    or when both coders used a single, identical category (p_e = 1).
    """
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    if x.size == 0:
        return undefined("no shared units")
    k = n_categories
    confusion = np.bincount(x * k + y, minlength=k * k).reshape(k, k).astype(float)
    value = float(_kappa_from_confusion(confusion, _weights(k, weighting)))
    if np.isnan(value):
        return undefined(
            "one category only: both coders used the same single category",
            n_units=x.size,
            n_pairable=2 * x.size,
        )
    return Estimate(value=value, n_units=int(x.size), n_pairable=int(2 * x.size))


@dataclass(frozen=True)
class PairKappa:
    coder_a: int
    coder_b: int
    n_shared: int
    kappa: Estimate


def coder_pairs(units: np.ndarray, coders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index pairs (i, j) of every two values given to the same unit by different
    coders, with coders[i] < coders[j]. Vectorized: after sorting by (unit, coder), the
    rows of a unit are contiguous, so pairs are rows k apart for k = 1 .. max values per unit.
    Assumes one value per (unit, coder), as the database guarantees."""
    units, coders = np.asarray(units), np.asarray(coders)
    order = np.lexsort((coders, units))
    su = units[order]
    firsts, rights = [], []
    for k in range(1, len(su)):
        same = su[:-k] == su[k:]
        if not same.any():
            break
        idx = np.flatnonzero(same)
        firsts.append(order[idx])
        rights.append(order[idx + k])
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(rights)


def cohen_kappa_pairs(
    units: np.ndarray,
    coders: np.ndarray,
    values: np.ndarray,
    n_categories: int,
    *,
    min_shared: int = MIN_SHARED,
    weighting: str | None = None,
) -> list[PairKappa]:
    """Cohen's kappa for every pair of coders sharing at least ``min_shared`` units, from
    long data (one row per (unit, coder) value; values are category indices, NaN skipped).

    All pairs at once: the pairs' confusion matrices are one bincount over
    (pair, value_a, value_b). Pairs are ordered by (coder_a, coder_b)."""
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    units, coders, values = (
        np.asarray(units)[keep],
        np.asarray(coders)[keep],
        values[keep].astype(np.int64),
    )
    if units.size == 0:
        return []
    i, j = coder_pairs(units, coders)
    if i.size == 0:
        return []
    n_coders = int(coders.max()) + 1
    pair_key = coders[i].astype(np.int64) * n_coders + coders[j]
    keys, inverse, shared = np.unique(pair_key, return_inverse=True, return_counts=True)
    selected = shared >= min_shared
    if not selected.any():
        return []
    remap = np.full(keys.size, -1, dtype=np.int64)
    remap[selected] = np.arange(int(selected.sum()))
    p = remap[inverse]
    rows = p >= 0
    k = n_categories
    n_sel = int(selected.sum())
    flat = p[rows] * k * k + values[i[rows]] * k + values[j[rows]]
    confusion = np.bincount(flat, minlength=n_sel * k * k).reshape(n_sel, k, k).astype(float)
    kappas = _kappa_from_confusion(confusion, _weights(k, weighting))
    out = []
    for key, n, value in zip(keys[selected], shared[selected], kappas, strict=True):
        a, b = divmod(int(key), n_coders)
        est = (
            Estimate(value=float(value), n_units=int(n), n_pairable=int(2 * n))
            if np.isfinite(value)
            else undefined(
                "one category only: both coders used the same single category", n_units=int(n)
            )
        )
        out.append(PairKappa(coder_a=a, coder_b=b, n_shared=int(n), kappa=est))
    return out


def _fleiss(p_units: np.ndarray, totals: np.ndarray, n_units: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = p_units / n_units
        p_j = totals / totals.sum(axis=-1, keepdims=True)
        p_e = (p_j * p_j).sum(axis=-1)
        return np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)


def fleiss_kappa(
    counts: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Fleiss' kappa (Fleiss 1971) from (N, K) category counts per unit.

        P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)),  P_bar = mean_i P_i
        p_j = sum_i n_ij / sum_i n_i,  P_e = sum_j p_j^2,  kappa = (P_bar - P_e) / (1 - P_e)

    With equal n_i this is Fleiss' statistic exactly; with unequal n_i, P_i is each unit's own
    share of agreeing pairs and p_j pools all ratings (the usual generalization). Units with
    fewer than two ratings are left out. Undefined with no such unit, or when every rating
    is in one category (P_e = 1). Bootstrap CI over units when ``rng`` is given.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_i = counts.sum(axis=1)
    counts = counts[n_i >= 2]
    n_i = n_i[n_i >= 2]
    if counts.shape[0] == 0:
        return undefined("fewer than two pairable values: no unit has two or more ratings")
    p_i = ((counts * counts).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    value = float(_fleiss(p_i.sum(), counts.sum(axis=0), np.float64(counts.shape[0])))
    n_units, n_pairable = int(counts.shape[0]), int(n_i.sum())
    if np.isnan(value):
        return undefined(
            "one category only: every rating is in the same category",
            n_units=n_units,
            n_pairable=n_pairable,
        )
    low = high = None
    if rng is not None and n_resamples > 0:
        samples = []
        for w in resample_blocks(rng, n_units, n_resamples):
            samples.append(_fleiss(w @ p_i, w @ counts, w.sum(axis=1)))
        low, high = percentile_ci(np.concatenate(samples), confidence)
    return Estimate(
        value=value,
        ci_low=low,
        ci_high=high,
        n_units=n_units,
        n_pairable=n_pairable,
        n_resamples=n_resamples if rng is not None else 0,
    )
