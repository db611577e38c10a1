"""Every figure of one scorer against the humans, and the noise ceiling (DESIGN 6.3, 6.4).

The layout of the documents is in the package docstring."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core import metaeval as me
from ..core.metaeval import _boot
from ..core.probes import PROBES, probe_effect, probe_effects
from ..core.results import Estimate, undefined
from ..models import (
    ScoringRun,
)
from .humans import Humans, _release_calibration_prompts

logger = logging.getLogger(__name__)

SURFACE_PROBES = ("pad", "markdown", "flattery")  # a feature-blind scorer does not prefer these
_CHOICE = {"a": me.A, "b": me.B, "tie": me.TIE}


# --- One scorer against the humans ----------------------------------------------------


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


def _corr_dict(c: me.Correlations) -> dict:
    return {
        "tau_prompt": _e(c.tau_prompt),
        "rho_prompt": _e(c.rho_prompt),
        "tau_flat": _e(c.tau_flat),
        "rho_flat": _e(c.rho_flat),
    }


def _scores_of(humans: Humans, run: ScoringRun) -> tuple[np.ndarray, dict[int, float]]:
    rows = np.array(list(run.scores.values_list("response_id", "score")), dtype=np.float64).reshape(
        -1, 2
    )
    ids = rows[:, 0].astype(np.int64)
    scores = np.full(humans.response_ids.size, np.nan)
    pos, hit = humans.positions(ids)
    scores[pos[hit]] = rows[hit, 1]
    return scores, dict(zip(ids.tolist(), rows[:, 1].tolist(), strict=True))


def _verdicts_of(humans: Humans, run: ScoringRun, pairs: me.Pairs) -> tuple[np.ndarray, int]:
    """The judge's verdict per pair (-1: none), and how many verdicts matched no pair."""
    rows = list(run.verdicts.values_list("response_a_id", "response_b_id", "choice"))
    out = np.full(len(pairs), -1, dtype=np.int64)
    if not rows:
        return out, 0
    a_ids = humans.response_ids[pairs.a] if len(pairs) else np.zeros(0, dtype=np.int64)
    b_ids = humans.response_ids[pairs.b] if len(pairs) else np.zeros(0, dtype=np.int64)
    where = {(a, b): k for k, (a, b) in enumerate(zip(a_ids.tolist(), b_ids.tolist(), strict=True))}
    unmatched = 0
    for a, b, choice in rows:
        k = where.get((a, b))
        if k is None:
            unmatched += 1
        else:
            out[k] = _CHOICE[choice]
    return out, unmatched


def _probe_rows(run: ScoringRun) -> list[tuple[int, str, float]]:
    from ..models import ProbeScore

    return list(ProbeScore.objects.filter(run=run).values_list("response_id", "probe", "score"))


def _probe_figures(
    run: ScoringRun, originals: dict[int, float], rows: list, humans: Humans
) -> tuple[dict | None, Estimate]:
    """Per probe the mean score change and preference shares (DESIGN 6.4), and the probe
    sensitivity: the share of (response, probe) cases of the surface probes (pad, markdown,
    flattery) where the scorer prefers the perturbed text, CI over those cases."""
    none = undefined("no probe scores (the scorer's probes have not run)")
    if not rows:
        return None, none
    ids = sorted({r[0] for r in rows})
    index = {rid: k for k, rid in enumerate(ids)}
    original = np.array([originals.get(rid, np.nan) for rid in ids], dtype=np.float64)
    perturbed = {p: np.full(len(ids), np.nan) for p in PROBES}
    for rid, probe, score in rows:
        if probe in perturbed:
            perturbed[probe][index[rid]] = score
    hib = run.scorer.higher_is_better
    seed = int(humans.sides.get("seed", 0))
    effects = probe_effects(
        original,
        perturbed,
        higher_is_better=hib,
        rng=np.random.default_rng([seed, 64]),
        n_resamples=humans.n_resamples,
    )
    stacked = probe_effect(
        np.tile(original, len(SURFACE_PROBES)),
        np.concatenate([perturbed[p] for p in SURFACE_PROBES]),
        higher_is_better=hib,
        rng=np.random.default_rng([seed, 65]),
        n_resamples=humans.n_resamples,
    )
    return {p: e.as_dict() for p, e in effects.items()}, stacked.prefers_perturbed


@dataclass
class _Reads:
    """One scoring run's rows, read once for both passes of ``scorer_figures``."""

    calibration_prompt: np.ndarray
    sides: dict
    has_verdicts: bool
    scores: np.ndarray
    originals: dict[int, float]
    verdicts_voted: np.ndarray | None = None
    verdicts_derived: np.ndarray | None = None
    unmatched: int = 0
    probe_rows: list = field(default_factory=list)


def _reads(humans: Humans, run: ScoringRun) -> _Reads:
    release_side = _release_calibration_prompts(run)
    calibration_prompt, sides = release_side or (humans.calibration_prompt, humans.sides)
    scores, originals = _scores_of(humans, run)
    reads = _Reads(calibration_prompt, sides, run.verdicts.exists(), scores, originals)
    if reads.has_verdicts:
        reads.verdicts_voted, reads.unmatched = _verdicts_of(humans, run, humans.voted)
        reads.verdicts_derived, _ = _verdicts_of(humans, run, humans.derived)
    else:
        reads.probe_rows = _probe_rows(run)
    return reads


def scorer_figures(humans: Humans, run: ScoringRun) -> tuple[dict, dict, dict]:
    """(figures, config, counts) of one scoring run against the humans (module docstring).

    Every figure is computed once; their CIs wait in a ``_boot.Batch`` and come from one
    product of the shared resample-weight matrix with all their per-prompt rows side by
    side (benchmarks/metaeval.py)."""
    reads = _reads(humans, run)
    if not isinstance(humans.resampler, me.Resampler) or humans.n_resamples == 0:
        return _scorer_figures(humans, run, reads, None)
    batch = _boot.Batch.over(humans.resampler)
    return _scorer_figures(replace(humans, resampler=batch), run, reads, batch)


def _scorer_figures(
    humans: Humans, run: ScoringRun, reads: _Reads, batch: _boot.Batch | None
) -> tuple[dict, dict, dict]:
    scorer = run.scorer
    hib = scorer.higher_is_better
    calibration_prompt, sides = reads.calibration_prompt, reads.sides
    has_verdicts = reads.has_verdicts
    scores, originals = reads.scores, reads.originals
    n = humans.n_resamples
    figures: dict[str, Any] = {
        "scorer": {
            "name": scorer.name,
            "kind": scorer.kind,
            "backend": scorer.backend,
            "higher_is_better": hib,
            "verdicts": has_verdicts,
        },
        "scoring_run": {
            "id": run.pk,
            "scored": run.scored,
            "total": run.total,
            "probe_status": run.probe_status,
        },
        "aggregation_run": {"id": humans.run.pk},
        "sides": sides,
    }
    counts: dict[str, Any] = {
        "responses": int(humans.response_ids.size),
        "responses_with_final": int(np.isfinite(humans.final).sum()),
        "responses_scored": int(np.isfinite(scores).sum()),
        "voted_pairs": len(humans.voted),
        "voted_pairs_without_plurality": int(humans.voted.excluded),
        "derived_pairs": len(humans.derived),
    }
    if has_verdicts:
        verdicts_voted, verdicts_derived = reads.verdicts_voted, reads.verdicts_derived
        counts["verdicts_without_human_pair"] = reads.unmatched
        figures["voted"] = _pair_figures(
            humans,
            humans.voted,
            calibration_prompt,
            scores=None,
            verdicts=verdicts_voted,
            higher_is_better=hib,
        )
        figures["derived"] = _pair_figures(
            humans,
            humans.derived,
            calibration_prompt,
            scores=None,
            verdicts=verdicts_derived,
            higher_is_better=hib,
        )
        figures["correlation"] = None
        figures["rho_length"] = None
        figures["tau_by_domain"] = {}
        figures["tau_by_generator"] = {}
    else:
        for kind, pairs in (("voted", humans.voted), ("derived", humans.derived)):
            figures[kind] = _pair_figures(
                humans,
                pairs,
                calibration_prompt,
                scores=scores,
                verdicts=None,
                higher_is_better=hib,
            )
        rng = humans.resampler
        corr = {
            "final": _corr_dict(
                me.correlations(
                    humans.prompt,
                    scores,
                    humans.final,
                    higher_is_better=hib,
                    rng=rng,
                    n_resamples=n,
                )
            ),
            "criteria": {
                key: _corr_dict(
                    me.correlations(
                        humans.prompt, scores, values, higher_is_better=hib, rng=rng, n_resamples=n
                    )
                )
                for key, values in humans.criteria.items()
            },
        }
        system = me.system_correlations(
            humans.prompt,
            humans.generator,
            scores,
            humans.final,
            higher_is_better=hib,
            rng=rng,
            n_resamples=n,
        )
        corr["system"] = {
            "pearson": _e(system.pearson),
            "kendall": _e(system.kendall),
            "models": [
                {
                    "model": humans.generator_names[int(m)],
                    "mean_score": float(s),
                    "mean_human": float(h),
                }
                for m, s, h in zip(
                    system.model_ids, system.mean_score, system.mean_human, strict=True
                )
            ],
        }
        figures["correlation"] = corr
        figures["rho_length"] = _e(
            me.length_correlation(scores, humans.length, higher_is_better=hib)
        )
        figures["tau_by_domain"] = _named(
            me.tau_by_group(
                humans.prompt,
                scores,
                humans.final,
                humans.domain,
                per_prompt_groups=True,
                higher_is_better=hib,
                rng=rng,
                n_resamples=n,
            ),
            humans.domain_names,
        )
        figures["tau_by_generator"] = _named(
            me.tau_by_group(
                humans.prompt,
                scores,
                humans.final,
                humans.generator,
                per_prompt_groups=False,
                higher_is_better=hib,
                rng=rng,
                n_resamples=n,
            ),
            humans.generator_names,
        )
    probes, sensitivity = (None, undefined("imported verdicts have no probes"))
    if not has_verdicts:
        probes, sensitivity = _probe_figures(run, originals, reads.probe_rows, humans)
    figures["probes"] = probes
    if batch is not None:
        figures = batch.resolve(figures, finish=Estimate.as_dict)
    figures["headline"] = _headline(figures, sensitivity)
    config = {
        "seed": sides.get("seed"),
        "n_resamples": n,
        "confidence": 0.95,
        "sides": sides,
        "tie_tolerance": float(
            (humans.run.config or {}).get("tie_tolerance", humans.run.project.tie_tolerance)
        ),
        "epsilon": _headline_block(figures, "acc_eq", "epsilon"),
        "temperature": _headline_block(figures, "calibration", "temperature"),
        "scorer_revision": run.scorer_revision,
    }
    counts["calibration_prompts"] = int(np.unique(calibration_prompt).size)
    return figures, config, counts


def _headline_block(figures: dict, part: str, key: str) -> Any:
    """``figures[<headline pairs>][part][key]``, None where any level is missing."""
    pairs = figures["headline"]["pairs"]
    block = (figures.get(pairs) or {}) if pairs else {}
    return (block.get(part) or {}).get(key)


def _decided(block: dict | None) -> bool:
    return bool(block) and (block.get("accuracy") or {}).get("value") is not None


def _headline(figures: dict, sensitivity: Estimate) -> dict:
    """The leaderboard row: voted pairs when the humans voted, else score-derived pairs."""
    kind = (
        "voted"
        if _decided(figures.get("voted"))
        else "derived"
        if _decided(figures.get("derived"))
        else None
    )
    block = figures.get(kind) or {}
    none = undefined("no human pairs with a decided preference")
    if block.get("judge"):
        acc_eq = block["judge"]["accuracy"]  # a judge's three-class accuracy is its acc_eq
    else:
        acc_eq = ((block.get("acc_eq") or {}).get("acc_eq")) or _e(none)
    scaled = ((block.get("calibration") or {}).get("scaled")) or {}
    length = block.get("length") or {}
    corr = figures.get("correlation") or {}
    return {
        "pairs": kind,
        "accuracy": block.get("accuracy") or _e(none),
        "acc_eq": acc_eq,
        "tau_prompt": ((corr.get("final") or {}).get("tau_prompt"))
        or _e(undefined("verdicts have no scores to correlate")),
        "ece": scaled.get("ece")
        or _e(
            undefined(
                (block.get("calibration") or {}).get("reason") or "no calibration for verdicts"
            )
        ),
        "prefers_longer": length.get("scorer_prefers_longer")
        or _e(undefined("no length comparison for verdicts")),
        "humans_prefer_longer": length.get("humans_prefer_longer") or _e(none),
        "probe_sensitivity": _e(sensitivity),
    }


# --- The noise ceiling ---------------------------------------------------------------


def ceiling_figures(humans: Humans) -> dict:
    """The human noise ceiling (DESIGN 6.3) of the run's humans (``NoiseCeiling.figures``)."""
    prompt, pair, annotator, choice = humans.votes
    votes = None
    if pair.size:
        # Only votes on the pairs the scorers are measured on: pairs with a strict plurality.
        c = me.noise_ceiling_votes(
            prompt,
            pair,
            annotator,
            choice,
            int(annotator.max()) + 1,
            rng=humans.resampler,
            n_resamples=humans.n_resamples,
        )
        votes = {"value": _e(c.value), "n_annotators": int((c.n > 0).sum())}
    unit, lk_annotator, value = humans.likert
    likert = None
    if unit.size:
        c = me.noise_ceiling_likert(unit, lk_annotator, value, int(lk_annotator.max()) + 1)
        likert = {"value": _e(c.value), "n_annotators": int(np.isfinite(c.per_annotator).sum())}
    voted = humans.voted
    prefer_longer = None
    if len(voted):
        gap = humans.length[voted.a] - humans.length[voted.b]
        differ = gap != 0
        share_longer = np.where(gap > 0, voted.share_a, 1.0 - voted.share_a)
        prefer_longer = _e(
            _boot.ratio_estimate(
                voted.prompt,
                np.where(differ, share_longer, 0.0),
                differ.astype(np.float64),
                rng=humans.resampler,
                n_resamples=humans.n_resamples,
                empty_reason="no voted pair of responses of different lengths",
            )
        )
    return {"votes": votes, "likert": likert, "humans_prefer_longer": prefer_longer}
