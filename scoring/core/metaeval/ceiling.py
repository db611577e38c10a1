"""The human noise ceiling shown beside every scorer (DESIGN 6.3): how well one annotator
predicts the others, measured the way scorers are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..bootstrap import N_RESAMPLES
from ..results import Estimate, undefined
from . import _boot
from .pairs import plurality

MIN_UNITS = 3


@dataclass(frozen=True)
class NoiseCeiling:
    """The pooled figure, and per annotator (positions 0..n_annotators-1) the number of
    units that counted and that annotator's own figure (NaN where undefined)."""

    value: Estimate
    n: np.ndarray
    per_annotator: np.ndarray


def noise_ceiling_votes(
    prompt: np.ndarray,
    pair: np.ndarray,
    annotator: np.ndarray,
    choice: np.ndarray,
    n_annotators: int,
    *,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> NoiseCeiling:
    """Pairwise noise ceiling: one row per vote (prompt, pair, annotator, choice in A / B /
    TIE); pass the votes of the same voted pairs the scorers are measured on.

    For each vote the others' tallies are the pair's tallies minus that vote; their strict
    plurality (``pairs.plurality``) is the leave-one-out label, and votes where the others
    have none (or no other vote) are skipped. agreement_k = share of annotator k's counted
    votes that match it; the ceiling is the vote-weighted mean over annotators,
    sum_k n_k agreement_k / sum_k n_k, i.e. the share over all counted votes (the
    leave-one-out consensus of Nowak & Rüger 2010 and of PandaLM's inter-annotator check).
    CI over prompts. Undefined when no vote has a leave-one-out plurality."""
    pair = np.asarray(pair, dtype=np.int64)
    annotator = np.asarray(annotator, dtype=np.int64)
    choice = np.asarray(choice, dtype=np.int64)
    n_pairs = int(pair.max()) + 1 if pair.size else 0
    counts = np.bincount(pair * 3 + choice, minlength=n_pairs * 3).reshape(n_pairs, 3)
    others = counts[pair].copy()
    others[np.arange(pair.size), choice] -= 1
    consensus = plurality(others)
    counted = consensus >= 0
    match = counted & (choice == consensus)
    n = np.bincount(annotator[counted], minlength=n_annotators)
    agree = np.bincount(annotator[counted], match[counted].astype(float), n_annotators)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(n > 0, agree / n, np.nan)
    value = _boot.ratio_estimate(
        prompt,
        match.astype(np.float64),
        counted.astype(np.float64),
        rng=rng,
        n_resamples=n_resamples,
        empty_reason="no vote has a leave-one-out plurality among the other annotators",
    )
    return NoiseCeiling(value=value, n=n, per_annotator=per)


def noise_ceiling_likert(
    unit: np.ndarray, annotator: np.ndarray, value: np.ndarray, n_annotators: int
) -> NoiseCeiling:
    """Likert noise ceiling: one row per (response, annotator) with that annotator's final
    for the response (e.g. the weighted criterion score of their own ratings).

    For each annotator k: Spearman rho (scipy.stats.spearmanr) between k's values and the
    mean of the other annotators' values on the same responses (leave-one-out mean), over
    responses with at least one other value. Defined for annotators with >= MIN_UNITS such
    responses and non-constant values on both sides. The ceiling is the mean of the defined
    rho weighted by their response counts (as the pairwise ceiling weights by votes). No CI:
    a rank correlation per annotator is not a sum over prompts. Undefined when no annotator
    has a defined rho."""
    unit = np.asarray(unit, dtype=np.int64)
    annotator = np.asarray(annotator, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    keep = ~np.isnan(value)
    unit, annotator, value = unit[keep], annotator[keep], value[keep]
    n_units = int(unit.max()) + 1 if unit.size else 0
    total = np.bincount(unit, value, n_units)
    m = np.bincount(unit, minlength=n_units)
    rows = m[unit] >= 2
    loo = np.full(value.size, np.nan)
    loo[rows] = (total[unit[rows]] - value[rows]) / (m[unit[rows]] - 1)
    n = np.zeros(n_annotators, dtype=np.int64)
    per = np.full(n_annotators, np.nan)
    for k in range(n_annotators):
        mine = rows & (annotator == k)
        n[k] = int(mine.sum())
        x, y = value[mine], loo[mine]
        if n[k] >= MIN_UNITS and np.ptp(x) > 0 and np.ptp(y) > 0:
            per[k] = float(stats.spearmanr(x, y).statistic)
    ok = ~np.isnan(per)
    if not ok.any():
        return NoiseCeiling(
            undefined(
                f"no annotator has >= {MIN_UNITS} shared responses with non-constant values",
                n_units=int(rows.sum()),
            ),
            n,
            per,
        )
    pooled = float((per[ok] * n[ok]).sum() / n[ok].sum())
    return NoiseCeiling(
        Estimate(value=pooled, n_units=int(ok.sum()), n_pairable=int(n[ok].sum())), n, per
    )
