"""Each annotator's agreement with the leave-one-out consensus of the others.

This is the human noise ceiling that scorers are compared against (DESIGN 6): how well one
person predicts everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .disputes import majority

MIN_UNITS = 3


@dataclass(frozen=True)
class LikertConsensus:
    """Per coder (rows) and criterion (columns): n units, Pearson r and mean absolute
    difference between the coder's normalized rating and the others' mean."""

    n: np.ndarray
    r: np.ndarray
    mae: np.ndarray


def likert_consensus(
    units: np.ndarray, coders: np.ndarray, values: np.ndarray, n_coders: int
) -> LikertConsensus:
    """Leave-one-out consensus agreement for ratings.

    For a value v_ru of coder r on unit u with m_u >= 2 values, the consensus is the mean of
    the other values, (S_u - v_ru) / (m_u - 1). Per coder and criterion: Pearson r between
    v and the consensus over the coder's units, and the mean |v - consensus|. r is NaN with
    fewer than MIN_UNITS units or no variance (undefined, not 0).
    """
    units = np.asarray(units, dtype=np.int64)
    coders = np.asarray(coders, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    c_count = values.shape[1]
    n_units = int(units.max()) + 1 if units.size else 0
    n = np.zeros((n_coders, c_count), dtype=np.int64)
    r = np.full((n_coders, c_count), np.nan)
    mae = np.full((n_coders, c_count), np.nan)
    for c in range(c_count):
        v = values[:, c]
        present = ~np.isnan(v)
        s = np.bincount(units[present], v[present], n_units)
        m = np.bincount(units[present], minlength=n_units)
        rows = present & (m[units] >= 2)
        x = v[rows]
        y = (s[units[rows]] - x) / (m[units[rows]] - 1)
        k = coders[rows]
        cnt = np.bincount(k, minlength=n_coders).astype(np.float64)
        sx, sy = np.bincount(k, x, n_coders), np.bincount(k, y, n_coders)
        sxx, syy, sxy = (
            np.bincount(k, x * x, n_coders),
            np.bincount(k, y * y, n_coders),
            np.bincount(k, x * y, n_coders),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = cnt * sxy - sx * sy
            vx, vy = cnt * sxx - sx * sx, cnt * syy - sy * sy
            tiny = 1e-12 * np.maximum(cnt * cnt, 1.0)
            rc = np.where(
                (cnt >= MIN_UNITS) & (vx > tiny) & (vy > tiny), cov / np.sqrt(vx * vy), np.nan
            )
            mae[:, c] = np.where(cnt > 0, np.bincount(k, np.abs(x - y), n_coders) / cnt, np.nan)
        n[:, c] = cnt.astype(np.int64)
        r[:, c] = np.clip(rc, -1.0, 1.0)
    return LikertConsensus(n=n, r=r, mae=mae)


@dataclass(frozen=True)
class ChoiceConsensus:
    """Per coder: units where the others had a strict majority, and the share of them where
    the coder chose the same."""

    n: np.ndarray
    agreement: np.ndarray


def choice_consensus(
    units: np.ndarray, coders: np.ndarray, choices: np.ndarray, n_categories: int, n_coders: int
) -> ChoiceConsensus:
    """Leave-one-out agreement for categorical choices (pairwise a / b / tie): the others'
    counts on the unit are the unit's counts minus the coder's own vote; the consensus is
    their strict majority; units where the others have none (or no other vote) are skipped."""
    units = np.asarray(units, dtype=np.int64)
    coders = np.asarray(coders, dtype=np.int64)
    choices = np.asarray(choices, dtype=np.int64)
    n_units = int(units.max()) + 1 if units.size else 0
    k = n_categories
    counts = np.bincount(units * k + choices, minlength=n_units * k).reshape(n_units, k)
    others = counts[units].copy()
    others[np.arange(units.size), choices] -= 1
    consensus = majority(others)
    rows = consensus >= 0
    n = np.bincount(coders[rows], minlength=n_coders)
    agree = np.bincount(
        coders[rows], (choices[rows] == consensus[rows]).astype(np.float64), n_coders
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, agree / n, np.nan)
    return ChoiceConsensus(n=n, agreement=share)
