"""manage.py aggregate --project SLUG [--json]: run an aggregation now and report it."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from scoring.models import AggregationRun
from scoring.services import aggregation_run_create


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:+.3f}"


class Command(BaseCommand):
    help = (
        "Aggregate a project's judgments into a new run (scores, Krippendorff's alpha with "
        "bootstrap CIs, disputes) and print alpha per criterion against the project's target."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, metavar="SLUG", help="the project's slug")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print one JSON document: the run id and every figure",
        )

    def handle(self, *args, **options):
        project, as_json = options["project"], options["json"]
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"no project with slug '{project}'")
        if not as_json:
            self.stderr.write(f"Aggregating {found.slug} ...")
        try:
            run = aggregation_run_create(project=found, trigger=AggregationRun.Trigger.COMMAND)
        except Exception as exc:
            raise CommandError(f"aggregation failed: {type(exc).__name__}: {exc}") from exc
        if as_json:
            self.stdout.write(_json_document(run))
        else:
            self.stdout.write(_table(run))


def _json_document(run: AggregationRun) -> str:
    return json.dumps(
        {
            "run_id": run.pk,
            "project": run.project.slug,
            "status": run.status,
            "created_at": run.created_at.isoformat(),
            "duration_ms": run.duration_ms,
            "code_version": run.code_version,
            "input_fingerprint": run.input_fingerprint,
            "target": run.config.get("agreement_target"),
            "counts": run.counts,
            "exclusions": run.exclusions,
            "tie_rule": run.tie_rule,
            "agreement": run.agreement,
            "disputes": len(run.disputes),
        },
        sort_keys=True,
    )


def _table(run: AggregationRun) -> str:
    target = run.config.get("agreement_target")
    a = run.agreement
    lines = [
        f"Run {run.pk} of {run.project.slug}: {run.counts.get('responses_scored', 0)} responses scored, "
        f"{run.counts.get('likert_judgments', 0)} Likert and {run.counts.get('pairwise_judgments', 0)} pairwise "
        f"judgments, {run.duration_ms} ms",
        f"Krippendorff's alpha with 95% bootstrap CI ({a.get('n_resamples')} resamples), target {target}:",
        f"  {'criterion':<20} {'level':<9} {'alpha':>7}  {'95% CI':<17} {'units':>7}  vs target",
    ]

    def row(name: str, level: str, e: dict) -> str:
        if e["value"] is None:
            return f"  {name:<20} {level:<9} {'undef.':>7}  {e['reason']}"
        ci = f"[{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}]"
        verdict = "meets" if e["value"] >= target else "below"
        return (
            f"  {name:<20} {level:<9} {_fmt(e['value']):>7}  {ci:<17} {e['n_units']:>7}  {verdict}"
        )

    for key, c in a.get("criteria", {}).items():
        for level, e in c["alpha"].items():
            lines.append(row(key, level + ("*" if level == c["level"] else ""), e))
    for level, e in a.get("overall", {}).items():
        lines.append(row("(all criteria)", level, e))
    pw = a.get("pairwise", {})
    if pw:
        lines.append(row("(pairwise)", "nominal", pw["alpha_nominal"]))
        lines.append(row("(pairwise) Fleiss", "kappa", pw["fleiss_kappa"]))
    lines.append("  * the criterion's own level")
    for ex in run.exclusions:
        if ex["count"]:
            lines.append(f"Excluded: {ex['count']} {ex['what']} ({ex['reason']}): {ex['detail']}")
    lines.append(f"Disputes: {len(run.disputes)}")
    return "\n".join(lines)
