"""Every figure of one scorer against the humans (DESIGN 6.3, 6.4): the rows read once,
correlations, probes and the headline; the pair-based figures are in ``pair_figures``,
the noise ceiling in ``ceiling``.

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
from .pair_figures import _e, _named, _pair_figures

logger = logging.getLogger(__name__)

SURFACE_PROBES = ("pad", "markdown", "flattery")  # a feature-blind scorer does not prefer these
_CHOICE = {"a": me.A, "b": me.B, "tie": me.TIE}


# --- One scorer against the humans ----------------------------------------------------


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
