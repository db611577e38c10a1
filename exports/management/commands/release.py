"""manage.py release --project SLUG [--seed N] [--holdout-domain NAME ...] [--run ID]
[--scorer NAME ...] [--json]"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from annotation.errors import ValidationProblems
from annotation.management.base import TrenchcoatCommand
from exports import selectors
from exports.services.build import release_build, release_path, release_request
from scoring.selectors import runs_for_project


class Command(TrenchcoatCommand):
    help = (
        "Build a dataset release of a project from an aggregation run (default: the latest "
        "finished one) and publish it as the next version. Runs in this process, with a "
        "progress bar on stderr."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True, metavar="SLUG", help="the project's slug")
        parser.add_argument(
            "--run", type=int, metavar="ID", help="aggregation run id (default: latest finished)"
        )
        parser.add_argument(
            "--seed", type=int, metavar="N", help="split seed (default: the project's seed)"
        )
        parser.add_argument(
            "--holdout-domain",
            action="append",
            default=[],
            metavar="NAME",
            dest="holdout_domains",
            help="put this domain wholly in test (repeatable)",
        )
        parser.add_argument(
            "--test-fraction", type=float, metavar="F", help="default: the project's (0.2)"
        )
        parser.add_argument(
            "--scorer",
            action="append",
            default=[],
            metavar="NAME",
            dest="scorers",
            help="carry this scorer's scores (scores.parquet) and meta-evaluation "
            "(metaeval.json), from its latest finished scoring run (repeatable)",
        )

    def run(self, **options: Any) -> dict[str, Any]:
        project = self.project(options["project"])
        run = None
        if options.get("run") is not None:
            run = runs_for_project(project).filter(pk=options["run"]).first()
            if run is None:
                raise CommandError(
                    f"no aggregation run {options['run']} in project '{project.slug}'"
                )
        try:
            release = release_request(
                project=project,
                run=run,
                seed=options.get("seed"),
                holdout_domains=options["holdout_domains"],
                test_fraction=options.get("test_fraction"),
                scorers=options["scorers"],
            )
        except ValidationProblems as exc:
            raise _in_one_line(exc) from None
        total = selectors.run_score_count(run=release.run)
        bar = tqdm(
            total=total,
            unit="resp",
            desc=f"release {project.slug}",
            file=sys.stderr,
            disable=None,
            leave=False,
        )
        try:
            release = release_build(release=release, progress=bar.update)
        except Exception as exc:
            raise CommandError(
                f"release build failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        finally:
            bar.close()
        return {
            "release_id": release.pk,
            "project": project.slug,
            "version": release.label,
            "run": release.run_id,
            "seed": release.seed,
            "holdout_domains": release.holdout_domains,
            "scorers": dict(sorted(release.scorers.items())),
            "directory": str(release_path(release)),
            "counts": release.counts,
            "files": {name: meta["sha256"] for name, meta in release.files.items()},
            "duration_ms": release.duration_ms,
        }

    def render(self, result: dict[str, Any]) -> None:
        c = result["counts"]
        self.stdout.write(
            f"{result['project']} {result['version']} from run {result['run']} (seed {result['seed']}): "
            f"{c['prompts']} prompts, {c['responses']} responses, {c['preferences']} preference pairs, "
            f"in {result['duration_ms'] / 1000:.1f} s"
        )
        self.stdout.write(f"directory: {result['directory']}")
        if result["scorers"]:
            pinned = ", ".join(
                f"{name} (scoring run {pk})" for name, pk in result["scorers"].items()
            )
            self.stdout.write(f"scorers: {pinned}")
        for name, sha in result["files"].items():
            self.stdout.write(f"  {sha}  {name}")


def _in_one_line(exc: ValidationProblems) -> ValidationProblems:
    """The same problems, said in one line naming each field: a command fails with one."""
    one = ValidationProblems(exc.problems, what="release")
    one.args = (
        "release rejected, nothing was written: "
        + "; ".join(f"{p.field}: {p.message}" for p in exc.problems),
    )
    return one
