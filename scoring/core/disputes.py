"""Dispute flags for the lead's review queue (DESIGN 5)."""

from __future__ import annotations

import numpy as np

LIKERT_SPAN = 3


def likert_spans(units: np.ndarray, values: np.ndarray, n_units: int) -> np.ndarray:
    """(n_units, C) span max - min of the raw ratings per unit and criterion (long data: one
    row per judgment, ``values`` (n, C) with NaN for an unrated criterion). NaN where a unit
    has fewer than two ratings on the criterion: one rating cannot disagree with itself."""
    units = np.asarray(units, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    spans = np.full((n_units, values.shape[1]), np.nan)
    if units.size == 0:
        return spans
    order = np.argsort(units, kind="stable")
    su, sv = units[order], values[order]
    starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
    with np.errstate(invalid="ignore"):
        hi = np.fmax.reduceat(sv, starts, axis=0)
        lo = np.fmin.reduceat(sv, starts, axis=0)
    present = np.add.reduceat((~np.isnan(sv)).astype(np.int64), starts, axis=0)
    spans[su[starts]] = np.where(present >= 2, hi - lo, np.nan)
    return spans


def likert_disputed(spans: np.ndarray, threshold: int = LIKERT_SPAN) -> np.ndarray:
    """Units whose ratings span >= ``threshold`` scale points on any criterion (e.g. a 1 and
    a 4 on a 1-5 scale): the raters did not read the item the same way."""
    with np.errstate(invalid="ignore"):
        return np.any(np.nan_to_num(spans, nan=-1.0) >= threshold, axis=1)


def majority(counts: np.ndarray) -> np.ndarray:
    """Index of the category holding a strict majority (> half) of each row's votes, -1
    where none does (e.g. a-b-tie, or a 1-1 split)."""
    counts = np.asarray(counts)
    top = counts.argmax(axis=1)
    has = 2 * counts.max(axis=1) > counts.sum(axis=1)
    return np.where(has, top, -1)


def pairwise_no_majority(counts: np.ndarray) -> np.ndarray:
    """Pairs with at least two votes and no strict majority among (a, b, tie)."""
    counts = np.asarray(counts)
    return (counts.sum(axis=1) >= 2) & (majority(counts) < 0)
