"""Pairwise accuracy, acc_eq with tie calibration, and judge accuracy / macro P/R/F1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bootstrap import N_RESAMPLES
from ..results import Estimate, undefined
from . import _boot
from .pairs import TIE, A, B, Pairs, oriented

CLASSES = (A, B, TIE)


def score_gaps(pairs: Pairs, scores: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """d = s_a - s_b with scores oriented so that higher is better; NaN when either response
    is unscored."""
    s = oriented(scores, higher_is_better)
    return s[pairs.a] - s[pairs.b]


def pairwise_accuracy(
    pairs: Pairs,
    scores: np.ndarray,
    *,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> Estimate:
    """Pairwise accuracy, RewardBench convention (Lambert et al. 2024, "RewardBench"):

        acc = (1 / |P|) sum over pairs labelled a or b of [s_preferred > s_other]

    with scores oriented by ``higher_is_better``; a scorer tie counts as wrong. Human ties
    and pairs with an unscored response are left out. CI: bootstrap over prompts. Undefined
    when no pair labelled a or b has both responses scored."""
    d = score_gaps(pairs, scores, higher_is_better)
    used = (pairs.label != TIE) & ~np.isnan(d)
    g = np.where(pairs.label == A, d, -d)
    correct = (g > 0) & used
    return _boot.ratio_estimate(
        pairs.prompt,
        correct.astype(np.float64),
        used.astype(np.float64),
        rng=rng,
        n_resamples=n_resamples,
        empty_reason="no pair labelled a or b with both responses scored",
    )


@dataclass(frozen=True)
class AccEq:
    """acc_eq on the evaluation side with the epsilon fitted on the calibration side
    (``calibration_acc_eq`` is the value epsilon reached there)."""

    epsilon: float | None
    calibration_acc_eq: float | None
    acc_eq: Estimate


def _acc_eq_counts(d: np.ndarray, label: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Correct pairs for each candidate epsilon: a pair labelled a (b) is correct when
    d > eps (-d > eps), a human tie when |d| <= eps. Sorted arrays + searchsorted: O(n log n)."""
    g = np.sort(np.where(label == A, d, -d)[label != TIE])
    t = np.sort(np.abs(d[label == TIE]))
    return (g.size - np.searchsorted(g, eps, side="right")) + np.searchsorted(t, eps, side="right")


def acc_eq(
    calibration: Pairs,
    evaluation: Pairs,
    scores: np.ndarray,
    *,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> AccEq:
    """acc_eq with tie calibration (Deutsch, Foster and Freitag 2023, "Ties Matter:
    Meta-Evaluating Modern Metrics with Pairwise Accuracy and Tie Calibration", EMNLP).

    The scorer calls a tie when |s_a - s_b| <= epsilon. acc_eq is the share of pairs
    labelled a, b or tie where scorer and humans agree (a tie is right only against a human
    tie). epsilon maximizes acc_eq on the calibration side over the candidates {0} and every
    |s_a - s_b| there (acc_eq only changes at those values); among equal maxima the smallest
    epsilon wins. acc_eq is then reported on the evaluation side with that epsilon fixed (the
    CI resamples evaluation prompts, not the fit). Undefined when either side has no pair
    with both responses scored."""
    dc = score_gaps(calibration, scores, higher_is_better)
    keep_c = ~np.isnan(dc)
    if not keep_c.any():
        return AccEq(None, None, undefined("no calibration pair with both responses scored"))
    dc, lc = dc[keep_c], calibration.label[keep_c]
    candidates = np.unique(np.r_[0.0, np.abs(dc)])
    counts = _acc_eq_counts(dc, lc, candidates)
    best = int(np.argmax(counts))
    eps = float(candidates[best])
    de = score_gaps(evaluation, scores, higher_is_better)
    used = ~np.isnan(de)
    g = np.where(evaluation.label == A, de, -de)
    correct = np.where(evaluation.label == TIE, np.abs(de) <= eps, g > eps) & used
    estimate = _boot.ratio_estimate(
        evaluation.prompt,
        correct.astype(np.float64),
        used.astype(np.float64),
        rng=rng,
        n_resamples=n_resamples,
        empty_reason="no evaluation pair with both responses scored",
    )
    return AccEq(epsilon=eps, calibration_acc_eq=float(counts[best] / dc.size), acc_eq=estimate)


@dataclass(frozen=True)
class JudgeScores:
    """Judge verdicts against human labels: 3-class accuracy and macro P/R/F1 over
    {a, b, tie}; ``confusion[h, j]`` counts human label h, judge verdict j."""

    accuracy: Estimate
    precision: Estimate
    recall: Estimate
    f1: Estimate
    confusion: np.ndarray
    no_verdict: int


def _macro_prf(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Macro precision, recall, F1 from (..., 3, 3) confusion matrices (rows human, columns
    judge), sklearn's convention with zero_division=0: a class never predicted has
    precision 0, a class never labelled recall 0, and F1 = 0 where P + R = 0. Macro F1 is
    the mean of the per-class F1, not the F1 of macro P and R."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    predicted = confusion.sum(axis=-2)
    actual = confusion.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(predicted > 0, tp / predicted, 0.0)
        r = np.where(actual > 0, tp / actual, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p.mean(axis=-1), r.mean(axis=-1), f.mean(axis=-1)


def judge_scores(
    pairs: Pairs,
    verdicts: np.ndarray,
    *,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> JudgeScores:
    """Judges (verdicts A / B / TIE per pair, -1 for none), the PandaLM convention (Wang et
    al. 2024, "PandaLM", ICLR; the authors' data/compute_metrics.py): accuracy over all
    labelled pairs with a verdict, three classes, and macro precision, recall and F1 over
    {a, b, tie} (sklearn precision_recall_fscore_support, average="macro",
    zero_division=0: a class the judge never predicts has precision 0). Pairs without a
    verdict are left out and counted. CI: bootstrap over prompts, the resampled confusion
    matrices are W @ per-prompt confusion counts. Undefined without a judged pair."""
    verdicts = np.asarray(verdicts, dtype=np.int64)
    used = verdicts >= 0
    no_verdict = int((~used).sum())
    if not used.any():
        none = undefined("no labelled pair has a judge verdict")
        return JudgeScores(none, none, none, none, np.zeros((3, 3), dtype=np.int64), no_verdict)
    prompt, ids = _boot.compact(pairs.prompt[used])
    n_prompts = ids.size
    cell = pairs.label[used] * 3 + verdicts[used]
    per_prompt = np.bincount(prompt * 9 + cell, minlength=n_prompts * 9).reshape(n_prompts, 9)
    confusion = per_prompt.sum(axis=0).reshape(3, 3).astype(np.float64)
    n = int(used.sum())
    p, r, f = _macro_prf(confusion)
    point = {"n_units": n_prompts, "n_pairable": n}

    def accuracy(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trace(sums, axis1=1, axis2=2) / sums.sum(axis=(1, 2))

    def macro(k: int) -> _boot.Statistic:
        return lambda sums: _macro_prf(sums)[k]

    accuracy_est, precision, recall, f1 = _boot.estimates(
        rng,
        ids,
        per_prompt.reshape(n_prompts, 3, 3),
        n_resamples,
        [
            (accuracy, Estimate(value=float(np.trace(confusion) / n), **point)),
            (macro(0), Estimate(value=float(p), **point)),
            (macro(1), Estimate(value=float(r), **point)),
            (macro(2), Estimate(value=float(f), **point)),
        ],
    )
    return JudgeScores(
        accuracy=accuracy_est,
        precision=precision,
        recall=recall,
        f1=f1,
        confusion=confusion.astype(np.int64),
        no_verdict=no_verdict,
    )
