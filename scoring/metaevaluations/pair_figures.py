"""The pair-based figures of one scorer on one kind of human pairs (DESIGN 6.3):
pairwise accuracy, acc_eq, calibration, length bias and accuracy by domain and generator
for scores; accuracy and the judge's confusion for verdicts. Also ``_e`` and ``_named``,
the estimate-to-dict helpers every figure document uses.

The layout of the documents is in the package docstring."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import metaeval as me
from ..core.metaeval import _boot
from ..core.results import Estimate
from .humans import Humans


def _e(est: Estimate | None) -> dict | _boot.Pending | None:
    """An estimate as its dict; a pending one stays as it is until its batch resolves it
    (``scorer_figures``)."""
    if est is None or isinstance(est, _boot.Pending):
        return est
    return est.as_dict()


def _named(groups: dict[int, Estimate], names: list[str]) -> dict[str, dict]:
    return {names[g]: _e(est) for g, est in sorted(groups.items())}


def _side_dict(side: me.CalibrationSide | None) -> dict | None:
    if side is None:
        return None
    n = side.bin_edges.size
    width = (1.0 - float(side.bin_edges[0])) / n if n else 0.0
    bins = [
        {
            "lower": float(side.bin_edges[k]),
            "upper": float(side.bin_edges[k]) + width,
            "count": int(side.bin_count[k]),
            "confidence": None
            if np.isnan(side.bin_confidence[k])
            else float(side.bin_confidence[k]),
            "accuracy": None if np.isnan(side.bin_accuracy[k]) else float(side.bin_accuracy[k]),
        }
        for k in range(n)
    ]
    return {
        "ece": _e(side.ece),
        "brier": _e(side.brier),
        "log_loss": _e(side.log_loss),
        "bins": bins,
    }


def _verdict_accuracy(pairs: me.Pairs, verdicts: np.ndarray, rng: me.Resampler, n: int) -> Estimate:
    """A judge's pairwise accuracy in the RewardBench convention, so that judges and scorers
    share one column: over pairs labelled a or b that the judge gave a verdict, 1 when the
    verdict is the humans' choice (a judge's tie counts as wrong, like a scorer tie)."""
    used = (pairs.label != me.TIE) & (verdicts >= 0)
    return _boot.ratio_estimate(
        pairs.prompt,
        (used & (verdicts == pairs.label)).astype(np.float64),
        used.astype(np.float64),
        rng=rng,
        n_resamples=n,
        empty_reason="no pair labelled a or b has a verdict",
    )


def _pair_figures(
    humans: Humans,
    pairs: me.Pairs,
    calibration_prompt: np.ndarray,
    *,
    scores: np.ndarray | None,
    verdicts: np.ndarray | None,
    higher_is_better: bool,
) -> dict | None:
    """Every pair-based figure of one scorer on one kind of human pairs (``Pairs`` in the
    module docstring). None when there are no such pairs."""
    if len(pairs) == 0 and pairs.excluded == 0:
        return None
    rng, n = humans.resampler, humans.n_resamples
    cal, ev = humans.side(pairs, calibration_prompt)
    domain_of_pair = humans.domain[pairs.a]
    generators = np.column_stack([humans.generator[pairs.a], humans.generator[pairs.b]])
    out: dict[str, Any] = {
        "n_pairs": len(pairs),
        "n_excluded": int(pairs.excluded),
        "n_calibration": len(cal),
        "n_evaluation": len(ev),
        "acc_eq": None,
        "judge": None,
        "calibration": None,
        "length": None,
    }
    if verdicts is not None:
        out["accuracy"] = _e(_verdict_accuracy(pairs, verdicts, rng, n))
        js = me.judge_scores(pairs, verdicts, rng=rng, n_resamples=n)
        out["judge"] = {
            "accuracy": _e(js.accuracy),
            "precision": _e(js.precision),
            "recall": _e(js.recall),
            "f1": _e(js.f1),
            "confusion": js.confusion.astype(int).tolist(),
            "no_verdict": int(js.no_verdict),
        }
        out["by_domain"] = {
            humans.domain_names[g]: _e(
                _verdict_accuracy(
                    pairs.subset(domain_of_pair == g), verdicts[domain_of_pair == g], rng, n
                )
            )
            for g in np.unique(domain_of_pair).tolist()
        }
        out["by_generator"] = {
            humans.generator_names[g]: _e(
                _verdict_accuracy(
                    pairs.subset((generators == g).any(axis=1)),
                    verdicts[(generators == g).any(axis=1)],
                    rng,
                    n,
                )
            )
            for g in np.unique(generators).tolist()
        }
        return out
    assert scores is not None
    hib = higher_is_better
    out["accuracy"] = _e(
        me.pairwise_accuracy(pairs, scores, higher_is_better=hib, rng=rng, n_resamples=n)
    )
    ae = me.acc_eq(cal, ev, scores, higher_is_better=hib, rng=rng, n_resamples=n)
    out["acc_eq"] = {
        "epsilon": ae.epsilon,
        "calibration_acc_eq": ae.calibration_acc_eq,
        "acc_eq": _e(ae.acc_eq),
    }
    cb = me.calibration(cal, ev, scores, higher_is_better=hib, rng=rng, n_resamples=n)
    out["calibration"] = {
        "temperature": cb.temperature,
        "reason": cb.reason,
        "raw": _side_dict(cb.raw),
        "scaled": _side_dict(cb.scaled),
        "isotonic": _side_dict(cb.isotonic),
    }
    lb = me.length_bias(pairs, scores, humans.length, higher_is_better=hib, rng=rng, n_resamples=n)
    out["length"] = {
        "scorer_prefers_longer": _e(lb.scorer_prefers_longer),
        "humans_prefer_longer": _e(lb.humans_prefer_longer),
        "tertile_cuts": None if lb.tertile_cuts is None else [float(x) for x in lb.tertile_cuts],
        "tertile_accuracy": [_e(x) for x in lb.tertile_accuracy],
    }
    out["by_domain"] = _named(
        me.accuracy_by_group(
            pairs, scores, domain_of_pair, higher_is_better=hib, rng=rng, n_resamples=n
        ),
        humans.domain_names,
    )
    out["by_generator"] = _named(
        me.accuracy_by_group(
            pairs, scores, generators, higher_is_better=hib, rng=rng, n_resamples=n
        ),
        humans.generator_names,
    )
    return out
