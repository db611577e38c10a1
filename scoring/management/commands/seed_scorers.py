"""manage.py seed_scorers [--project SLUG]: the demo's built-in metrics, run over a project."""

from __future__ import annotations

from annotation.management.base import TrenchcoatCommand
from scoring.demo import demo_scoring_seed


class Command(TrenchcoatCommand):
    help = (
        "Register the built-in metrics (length_chars, length_words, markdown_density) as shared "
        "scorers and score every response of a project with each, in this process. Idempotent. "
        "`make dev` runs it on the demo project."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", default="demo", metavar="SLUG")
        super().add_arguments(parser)

    def run(self, **options):
        project = self.project(options["project"])
        runs = demo_scoring_seed(project=project)
        return {
            "project": project.slug,
            "runs": [
                {"run_id": r.pk, "scorer": r.scorer.name, "status": r.status, "scored": r.scored}
                for r in runs
            ],
        }

    def render(self, result) -> None:
        for r in result["runs"]:
            self.stdout.write(
                f"{r['scorer']:<18} run {r['run_id']}: {r['scored']} responses {r['status']}"
            )
