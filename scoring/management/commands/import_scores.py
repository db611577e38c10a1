"""manage.py import_scores --project SLUG --scorer NAME FILE.jsonl (DESIGN 6.1)."""

from __future__ import annotations

from annotation.management.base import TrenchcoatCommand
from scoring.external_scores import scores_import
from scoring.scoring_runs import scorer_for_project


class Command(TrenchcoatCommand):
    help = (
        'Import scores ({"response_id", "score"}) and judge verdicts ({"kind": '
        '"pairwise", "prompt_id", "response_a", "response_b", "choice": "a|b|tie"}) '
        "of an external scorer, one JSON object a line, as a finished scoring run. All or "
        "nothing, with line-numbered problems; re-importing the same content changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="JSONL file of scores and verdicts")
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--scorer", required=True, metavar="NAME", help="an external scorer")
        super().add_arguments(parser)

    def run(self, **options):
        project = self.project(options["project"])
        path = self.existing_file(options["file"])
        scorer = scorer_for_project(project=project, name=options["scorer"])
        with path.open(encoding="utf-8") as lines:
            imported = scores_import(project=project, scorer=scorer, lines=lines)
        return {
            "run_id": imported.run.pk,
            "created": imported.created,
            "project": project.slug,
            "scorer": scorer.name,
            "scores": imported.scores,
            "verdicts": imported.verdicts,
        }

    def render(self, result) -> None:
        verb = "Imported" if result["created"] else "Already imported, nothing changed:"
        self.stdout.write(
            f"{verb} {result['scores']} scores and {result['verdicts']} verdicts of "
            f"'{result['scorer']}' into scoring run {result['run_id']}"
        )
