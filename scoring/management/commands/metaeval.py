"""manage.py metaeval --project SLUG [--scorer NAME] [--json]: measure every scorer against
the project's humans now (DESIGN 6.3) and print the leaderboard or every figure."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from scoring.core.bootstrap import N_RESAMPLES
from scoring.metaevaluations import (
    humans_read,
    latest_aggregation_run,
    latest_scoring_runs,
    metaeval_compute,
    noise_ceiling_get_or_create,
)
from scoring.models import MetaEvaluation, NoiseCeiling

COLUMNS = (
    ("accuracy", "accuracy"),
    ("acc_eq", "acc_eq"),
    ("tau_prompt", "tau_b"),
    ("ece", "ECE"),
    ("prefers_longer", "longer"),
    ("probe_sensitivity", "probes"),
)


def _cell(est: dict | None, ci: bool = False) -> str:
    if not est or est.get("value") is None:
        return "-"
    text = f"{est['value']:.3f}"
    if ci and est.get("ci_low") is not None:
        text += f" [{est['ci_low']:.3f}, {est['ci_high']:.3f}]"
    return text


class Command(BaseCommand):
    help = (
        "Meta-evaluate the project's scorers: each scorer's latest finished scoring run against "
        "the latest aggregation run (pairwise accuracy, acc_eq, Kendall tau_b, calibration, "
        "length bias, probes, breakdowns, 95%% bootstrap CIs), stored as one record per pair "
        "of runs (recomputing replaces it), and print one row per scorer with the human noise "
        "ceiling as a row, or with --json one document with every figure."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, metavar="SLUG", help="the project's slug")
        parser.add_argument("--scorer", metavar="NAME", help="only this scorer")
        parser.add_argument(
            "--resamples",
            type=int,
            default=N_RESAMPLES,
            metavar="B",
            help=f"bootstrap resamples per CI (default {N_RESAMPLES})",
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON document with every figure"
        )

    def handle(self, *args, **options):
        slug, name, as_json = options["project"], options["scorer"], options["json"]
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"no project with slug '{slug}'")
        if options["resamples"] < 0:
            raise CommandError("--resamples must be 0 or more")
        aggregation = latest_aggregation_run(project.pk)
        if aggregation is None:
            raise CommandError(
                f"project '{slug}' has no finished aggregation run: run "
                f"`manage.py aggregate --project {slug}` first"
            )
        runs = latest_scoring_runs(project.pk, scorer_name=name)
        if not runs:
            what = f"scorer '{name}'" if name else "any scorer"
            raise CommandError(
                f"project '{slug}' has no finished scoring run of {what}: run `manage.py score "
                f"--project {slug} --scorer NAME` or `manage.py import_scores` first"
            )
        humans = humans_read(aggregation, n_resamples=options["resamples"])
        ceiling = noise_ceiling_get_or_create(humans)
        records = []
        for k, run in enumerate(runs, start=1):
            if not as_json:
                self.stderr.write(f"[{k}/{len(runs)}] {run.scorer.name} ...")
                self.stderr.flush()
            try:
                records.append(
                    metaeval_compute(scoring_run=run, aggregation_run=aggregation, humans=humans)
                )
            except Exception as exc:
                raise CommandError(
                    f"meta-evaluation of scorer '{run.scorer.name}' failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        if as_json:
            self.stdout.write(_document(project, aggregation.pk, records, ceiling))
        else:
            self.stdout.write(_table(project, aggregation.pk, records, ceiling))


def _document(project, aggregation_id, records: list[MetaEvaluation], ceiling: NoiseCeiling):
    return json.dumps(
        {
            "project": project.slug,
            "aggregation_run_id": aggregation_id,
            "noise_ceiling": ceiling.figures,
            "scorers": [
                {
                    "metaevaluation_id": r.pk,
                    "scoring_run_id": r.scoring_run_id,
                    "scorer": r.figures["scorer"]["name"],
                    "config": r.config,
                    "counts": r.counts,
                    "figures": r.figures,
                }
                for r in records
            ],
        },
        sort_keys=True,
    )


def _table(project, aggregation_id, records: list[MetaEvaluation], ceiling: NoiseCeiling) -> str:
    header = ["scorer", "pairs", *(label for _, label in COLUMNS)]
    rows = []
    for r in records:
        h = r.figures["headline"]
        pairs = h["pairs"] or "-"
        n = (r.figures.get(h["pairs"]) or {}).get("n_pairs") if h["pairs"] else None
        rows.append(
            [
                r.figures["scorer"]["name"],
                f"{pairs} ({n})" if n is not None else pairs,
                *(_cell(h[key], ci=key == "accuracy") for key, _ in COLUMNS),
            ]
        )
    c = ceiling.figures
    rows.append(
        [
            "human noise ceiling",
            "voted" if c.get("votes") else "likert" if c.get("likert") else "-",
            _cell((c.get("votes") or {}).get("value"), ci=True),
            "-",
            _cell((c.get("likert") or {}).get("value")) + " (rho)" if c.get("likert") else "-",
            "-",
            _cell(c.get("humans_prefer_longer")),
            "-",
        ]
    )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        f"Meta-evaluation of {project.slug} against aggregation run {aggregation_id} "
        "(95% bootstrap CIs over prompts):",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
    ]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(
        "accuracy: RewardBench pairwise accuracy; acc_eq: with tie calibration; tau_b: per "
        "prompt vs human finals; ECE: after temperature scaling; longer: P(prefers the longer "
        "response); probes: share preferring pad/markdown/flattery. `--json` for every figure."
    )
    return "\n".join(line.rstrip() for line in lines)
