"""What a release says about itself: the pseudonyms, ``manifest.json`` and the dataset card.

Pseudonyms are keyed by the secret salt and the release identity (project, run, seed, test
fraction, holdout), not by the version: a rebuild gets the same pseudonyms, a release of
another run or seed gets unlinkable ones. Every file of a release names annotators by these
pseudonyms only: the run's agreement figures name annotators by database id (the lead's
pages need them), so the manifest maps them before writing (DESIGN 7.1).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from annotation.composition import Composition
from annotation.models import Criterion, Project, Response
from scoring.model_ranking import NOT_RECORDED, undefined_ranking
from scoring.models import AggregationRun

FORMAT = "trenchcoat-release/1"

Pseudonym = Callable[[int], str]


def pseudonymizer(
    *, project: Project, run: AggregationRun, seed: int, test_fraction: float, holdout: list[str]
) -> Pseudonym:
    """annotator pk -> stable opaque id for this release identity (HMAC-SHA256, secret salt)."""
    identity = f"{FORMAT}|{project.slug}|run={run.pk}|seed={seed}|test={test_fraction!r}|holdout={','.join(holdout)}"
    key = hmac.new(
        settings.EXPORT_PSEUDONYM_SALT.encode(), identity.encode(), hashlib.sha256
    ).digest()
    cache: dict[int, str] = {}

    def pseudonym(annotator_id: int) -> str:
        if annotator_id not in cache:
            cache[annotator_id] = (
                "ann_" + hmac.new(key, str(annotator_id).encode(), hashlib.sha256).hexdigest()[:16]
            )
        return cache[annotator_id]

    return pseudonym


def run_config_pseudonymized(config: dict, pseudonym: Pseudonym) -> dict:
    """The run's config with its excluded annotators (database id and name, DESIGN 4.5)
    named by the release's pseudonyms only."""
    if not config.get("excluded_annotators"):
        return config
    excluded = [
        {
            "annotator": pseudonym(a["annotator_id"]),
            "likert": a["likert"],
            "pairwise": a["pairwise"],
        }
        for a in config["excluded_annotators"]
    ]
    return {**config, "excluded_annotators": excluded}


def agreement_pseudonymized(agreement: dict, pseudonym: Pseudonym) -> dict:
    """The run's agreement with every annotator id replaced by its pseudonym.

    Rows are re-sorted by pseudonym (and the two coders of a Cohen pair put in pseudonym
    order), so that not even the order of database ids shows through.
    """
    out = copy.deepcopy(agreement or {})
    annotators = out.get("annotators")
    if annotators:
        rows = []
        for row in annotators:
            row = dict(row)
            row["annotator"] = pseudonym(row.pop("annotator_id"))
            rows.append(row)
        out["annotators"] = sorted(rows, key=lambda r: r["annotator"])
    cohen = out.get("cohen") or {}
    for kind in ("likert", "pairwise"):
        pairs = cohen.get(kind)
        if not pairs:
            continue
        mapped = []
        for pair in pairs:
            a, b = sorted((pseudonym(pair["a"]), pseudonym(pair["b"])))
            mapped.append({**pair, "a": a, "b": b})
        cohen[kind] = sorted(mapped, key=lambda p: (p.get("criterion", ""), p["a"], p["b"]))
    return out


def exclusions_with_external_ids(exclusions: list[dict], project: Project) -> list[dict]:
    """The run's exclusions with sample response ids as the external ids the files use."""
    wanted = {i for e in exclusions or [] for i in e.get("sample_ids", [])}
    names = dict(
        Response.objects.filter(project=project, pk__in=wanted).values_list("pk", "external_id")
    )
    out = []
    for e in exclusions or []:
        e = dict(e)
        if "sample_ids" in e:
            e["sample_ids"] = [names.get(i, "") for i in e["sample_ids"]]
        out.append(e)
    return out


def release_manifest(
    *,
    project: Project,
    criteria: list[Criterion],
    run: AggregationRun,
    seed: int,
    test_fraction: float,
    holdout: list[str],
    tie_tolerance: float,
    counts: dict,
    domain_coverage: dict,
    files: dict,
    pseudonym: Pseudonym,
    composition: Composition,
    scores: dict | None = None,
) -> dict[str, Any]:
    manifest = {
        "format": FORMAT,
        "project": {
            "slug": project.slug,
            "name": project.name,
            "config": {
                "likert_quorum": project.likert_quorum,
                "pairwise_quorum": project.pairwise_quorum,
                "blend_alpha": project.blend_alpha,
                "pairwise_method": project.pairwise_method,
                "agreement_target": project.agreement_target,
                "test_fraction": project.test_fraction,
                "seed": project.seed,
                "tie_tolerance": project.tie_tolerance,
                "origin_targets": project.origin_targets,
                "source_targets": project.source_targets,
                "criteria": [
                    {
                        "key": c.key,
                        "label": c.label,
                        "description": c.description,
                        "scale_min": c.scale_min,
                        "scale_max": c.scale_max,
                        "level": c.level,
                        "weight": c.weight,
                    }
                    for c in criteria
                ],
                "domains": [
                    {
                        "name": d.name,
                        "target_share": d.target_share,
                        "safety_critical": d.safety_critical,
                    }
                    for d in project.domains.order_by("name")
                ],
            },
        },
        "run": {
            "id": run.pk,
            "trigger": run.trigger,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "code_version": run.code_version,
            "input_fingerprint": run.input_fingerprint,
            "config": run_config_pseudonymized(run.config or {}, pseudonym),
            "tie_rule": run.tie_rule,
            "counts": run.counts,
            "disputes": len(run.disputes or []),
        },
        "code_version": {
            "trenchcoat": settings.TRENCHCOAT_VERSION,
            "aggregation": run.code_version,
        },
        "seeds": {"split": seed, "aggregation": (run.config or {}).get("seed", project.seed)},
        "split": {
            "method": "groups = near-duplicate cluster, else prompt; stratified by domain; "
            "greedy by group size with sha256(seed, group) order",
            "test_fraction": test_fraction,
            "holdout_domains": holdout,
        },
        "responses": {
            "included": "every response the run gave a final score (final_source says how: "
            "blend, criteria_only or borda_only); judged responses without one are counted "
            "in exclusions (no_final_score) and left out",
        },
        "preferences": {
            "pairs": "every pair of scored responses of a prompt whose final scores differ by more "
            "than the tie tolerance; chosen has the higher final",
            "tie_tolerance": tie_tolerance,
        },
        "judgments": {
            "included": "exactly the judgments the run aggregated (the ids it recorded), on "
            "prompts in this release",
            "annotator_ids": "HMAC-SHA256 pseudonyms keyed by a secret salt and this release's identity "
            "(project, run, seed, test fraction, holdout); not linkable to users or to other releases; "
            "the same pseudonyms in every file of the release",
            "omitted": ["annotator names and emails", "free-text comments", "timestamps"],
        },
        "counts": counts,
        "agreement": agreement_pseudonymized(run.agreement, pseudonym),
        "domain_coverage": domain_coverage,
        "composition": composition_section(composition),
        "model_ranking": model_ranking_section(run),
        "exclusions": exclusions_with_external_ids(run.exclusions, project),
        "files": files,
    }
    if scores:
        manifest["scores"] = {
            "scorers": scores,
            "included": "scores.parquet: each named scorer's raw score of every released "
            "response its pinned scoring run scored (response_id as in responses, scorer, "
            "score, split); metaeval.json: each pinned run's meta-evaluation against this "
            "release's aggregation run, and the human noise ceiling",
            "omitted": [
                "probe scores and perturbed texts (probe figures in metaeval.json are numbers)",
                "annotator ids and names",
            ],
        }
    return manifest


def card_render(
    *,
    manifest: dict,
    criteria: list[Criterion],
    project: Project,
    leaderboard: dict | None = None,
    composition: Composition | None = None,
) -> str:
    """The dataset card (README.md) from the manifest (and, when the release carries
    scorers, the leaderboard rows from metaeval.json)."""
    return render_to_string(
        "exports/dataset_card.md",
        {
            "m": manifest,
            "criteria": criteria,
            "project": project,
            "leaderboard": leaderboard,
            "composition": composition,
        },
    )


def composition_section(composition: Composition) -> dict[str, Any]:
    """The release's composition against the project's targets (DESIGN 4.5): origins of the
    released responses and sources of the released prompts."""
    return {
        "unit": "share: 0..1 of the released rows; gap_points: share minus target in "
        "percentage points (null without a target)",
        **{
            d.name: {
                "of": d.unit,
                "targets_set": d.has_targets,
                "rows": [
                    {
                        "key": r.key,
                        "count": r.count,
                        "share": round(r.share, 6),
                        "target": r.target,
                        "gap_points": r.gap,
                    }
                    for r in d.rows
                ],
            }
            for d in composition.dimensions
        },
    }


def model_ranking_section(run: AggregationRun) -> dict[str, Any]:
    """The run's Arena-style model ranking as stored (DESIGN 5), or why there is none."""
    return {"run": run.pk, **(run.model_ranking or undefined_ranking(NOT_RECORDED))}


def json_dumps_pretty(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"
