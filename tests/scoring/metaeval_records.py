"""Meta-evaluation records for page and API tests, with ``figures`` in exactly the layout of
``scoring/metaevaluations.py``'s docstring (what the compute service writes)."""

from __future__ import annotations

from django.utils import timezone

from scoring.models import AggregationRun, MetaEvaluation, NoiseCeiling, Scorer, ScoringRun


def est(value: float | None, spread: float = 0.03, *, reason: str = "", n: int = 40) -> dict:
    if value is None:
        return {
            "value": None, "reason": reason or "no pairs", "ci_low": None, "ci_high": None,
            "n_units": 0, "n_pairable": 0, "n_resamples": 0,
        }  # fmt: skip
    return {
        "value": value, "reason": "", "ci_low": value - spread, "ci_high": value + spread,
        "n_units": n, "n_pairable": n, "n_resamples": 1000,
    }  # fmt: skip


def _side(ece: float) -> dict:
    return {
        "ece": est(ece),
        "brier": est(0.21),
        "log_loss": est(0.62),
        "bins": [
            {
                "lower": 0.5 + k * 0.05,
                "upper": 0.55 + k * 0.05,
                "count": 10 - k,
                "confidence": 0.525 + k * 0.05,
                "accuracy": min(1.0, 0.5 + k * 0.06),
            }
            for k in range(10)
        ],  # fmt: skip
    }


def pairs_doc(accuracy: float, *, judge: bool = False) -> dict:
    scores = not judge
    return {
        "n_pairs": 120,
        "n_excluded": 4,
        "n_calibration": 60,
        "n_evaluation": 60,
        "accuracy": est(accuracy),
        "acc_eq": {"epsilon": 0.25, "calibration_acc_eq": 0.61, "acc_eq": est(accuracy - 0.05)}
        if scores
        else None,
        "judge": {
            "accuracy": est(0.7107),
            "precision": est(0.5879),
            "recall": est(0.5736),
            "f1": est(0.5755),
            "confusion": [[30, 5, 2], [6, 28, 3], [4, 4, 8]],
            "no_verdict": 1,
        }
        if judge
        else None,  # fmt: skip
        "calibration": {
            "temperature": 2.0,
            "reason": "",
            "raw": _side(0.12),
            "scaled": _side(0.04),
            "isotonic": _side(0.03),
        }
        if scores
        else None,
        "length": {
            "scorer_prefers_longer": est(0.8),
            "humans_prefer_longer": est(0.6),
            "tertile_cuts": [12.0, 40.0],
            "tertile_accuracy": [est(0.55), est(0.65), est(None, reason="no pairs in tertile")],
        }
        if scores
        else None,
        "by_domain": {"general": est(accuracy), "<b>code</b>": est(accuracy - 0.1)},
        "by_generator": {"model-x": est(accuracy + 0.02)},
    }


def figures_doc(
    scorer: Scorer,
    run: ScoringRun,
    aggregation: AggregationRun,
    *,
    accuracy: float | None = 0.7,
    tau: float = 0.3,
    ece: float = 0.05,
    prefers_longer: float = 0.8,
    probe_sensitivity: float = 0.6,
    judge: bool = False,
) -> dict:
    voted = pairs_doc(accuracy if accuracy is not None else 0.5, judge=judge)
    corr = {"tau_prompt": est(tau), "rho_prompt": est(tau + 0.1), "tau_flat": est(tau),
            "rho_flat": est(tau + 0.05)}  # fmt: skip
    return {
        "scorer": {
            "name": scorer.name,
            "kind": scorer.kind,
            "backend": scorer.backend,
            "higher_is_better": scorer.higher_is_better,
            "verdicts": judge,
        },  # fmt: skip
        "scoring_run": {
            "id": run.pk,
            "scored": run.scored,
            "total": run.total,
            "probe_status": run.probe_status,
        },  # fmt: skip
        "aggregation_run": {"id": aggregation.pk},
        "sides": {"source": "seeded", "release_version": None, "seed": 7},
        "voted": voted,
        "derived": None,
        "correlation": None
        if judge
        else {
            "final": corr,
            "criteria": {"helpfulness": corr},
            "system": {
                "pearson": est(0.9),
                "kendall": est(0.66),
                "models": [{"model": "model-x", "mean_score": 1.5, "mean_human": 0.7}],
            },
        },  # fmt: skip
        "rho_length": None if judge else est(0.4),
        "tau_by_domain": {"general": est(tau)},
        "tau_by_generator": {"model-x": est(tau)},
        "probes": None
        if judge
        else {
            probe: {
                "mean_change": est(0.2),
                "prefers_perturbed": est(share),
                "prefers_original": est(1 - share),
                "ties": est(0.0),
                "n_excluded": 0,
            }
            for probe, share in (
                ("pad", 0.9),
                ("markdown", 0.5),
                ("flattery", 0.4),
                ("truncate", 0.1),
            )
        },  # fmt: skip
        "headline": {
            "pairs": "voted",
            "accuracy": est(accuracy, reason="no pairs labelled a or b"),
            "acc_eq": est(None) if judge else est((accuracy or 0.5) - 0.05),
            "tau_prompt": est(None) if judge else est(tau),
            "ece": est(None) if judge else est(ece),
            "prefers_longer": est(None) if judge else est(prefers_longer),
            "humans_prefer_longer": est(0.6),
            "probe_sensitivity": est(None) if judge else est(probe_sensitivity),
        },
    }


def aggregation_done(project) -> AggregationRun:
    return AggregationRun.objects.create(
        project=project, status=AggregationRun.Status.DONE, finished_at=timezone.now()
    )


def scoring_run(project, scorer: Scorer, *, status: str = "done", scored: int = 6) -> ScoringRun:
    return ScoringRun.objects.create(
        project=project,
        scorer=scorer,
        status=status,
        total=6,
        scored=scored,
        finished_at=timezone.now() if status == "done" else None,
    )


def scorer_measured(project, aggregation, name: str, **figures) -> MetaEvaluation:
    """A scorer with a finished run and its meta-evaluation against ``aggregation``."""
    judge = figures.get("judge", False)
    scorer = Scorer.objects.create(
        name=name,
        kind="judge" if judge else "metric",
        backend="external" if judge else "builtin",
        metric="" if judge else "length_chars",
    )
    run = scoring_run(project, scorer)
    return MetaEvaluation.objects.create(
        project=project,
        scoring_run=run,
        aggregation_run=aggregation,
        figures=figures_doc(scorer, run, aggregation, **figures),
        config={"seed": 7, "n_resamples": 1000, "epsilon": 0.25, "temperature": 2.0},
        counts={"voted_pairs": 120, "excluded_no_plurality": 4},
        code_version="test",
    )


def ceiling_made(aggregation, *, votes: float = 0.82) -> NoiseCeiling:
    return NoiseCeiling.objects.create(
        aggregation_run=aggregation,
        figures={
            "votes": {"value": est(votes), "n_annotators": 3},
            "likert": None,
            "humans_prefer_longer": est(0.6),
        },
    )


def measured_project(slug: str = "demo", *, n_prompts: int = 12, project=None):
    """The real path: prompts with three responses of growing quality (longer on even
    prompts, shorter on odd ones), three raters who rate and vote, an aggregation run, the
    built-in ``length_chars`` and ``markdown_density`` scored with their probes, and their
    meta-evaluations computed. Returns the aggregation run."""
    from annotation.models import Prompt, Response
    from annotation.services.projects import project_create
    from scoring.metaevaluations import metaeval_compute
    from scoring.probe_runs import probe_run_chunk
    from scoring.scoring_runs import scoring_run_chunk, scoring_run_start
    from scoring.services import aggregation_run_create

    from .factories import rate, raters, vote

    if project is None:
        project = project_create(
            slug=slug,
            name=slug,
            domains=[{"name": "code"}, {"name": "chat"}],
            likert_quorum=3,
            pairwise_quorum=3,
        )
    domains = list(project.domains.order_by("name"))
    people = raters(project, 3)
    keys = list(project.criteria.values_list("key", flat=True))
    for p in range(n_prompts):
        prompt = Prompt.objects.create(
            project=project,
            domain=domains[p % len(domains)],
            text=f"How does thing {p} work?",
            external_id=f"{slug}-q{p}",
            content_hash=f"{slug}-q{p}",
        )
        responses = []
        for q in range(3):
            words = 6 + 6 * (q if p % 2 == 0 else 2 - q)
            text = " ".join(f"word{i}." for i in range(words))
            responses.append(
                Response.objects.create(
                    project=project,
                    prompt=prompt,
                    text=text,
                    external_id=f"{slug}-q{p}-r{q}",
                    content_hash=f"{slug}-q{p}-r{q}",
                    model_name=f"model-{q}",
                )
            )
        for q, response in enumerate(responses):
            for k, person in enumerate(people):
                point = 1 + q + (1 if k == 0 and (p + q) % 3 == 0 else 0)
                rate(response, person, **dict.fromkeys(keys, point))
        for worse, better in ((0, 1), (1, 2), (0, 2)):
            for k, person in enumerate(people):
                dissent = k == 2 and (p + worse) % 4 == 0
                w, loser = responses[worse], responses[better]
                if dissent:
                    vote(w, loser, person)
                else:
                    vote(loser, w, person)
    aggregation = aggregation_run_create(project=project, trigger="command")
    for name, metric in (("chars", "length_chars"), ("markdown", "markdown_density")):
        scorer = Scorer.objects.create(name=name, kind="metric", backend="builtin", metric=metric)
        run, _ = scoring_run_start(project=project, scorer=scorer)
        for index in range(len(run.chunks)):
            scoring_run_chunk(run_id=run.pk, index=index)
        probe_run_chunk(run_id=run.pk)
        run.refresh_from_db()
        metaeval_compute(scoring_run=run, aggregation_run=aggregation, n_resamples=200)
    return aggregation
