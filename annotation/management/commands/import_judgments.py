from annotation.management.base import TrenchcoatCommand
from annotation.services.imports import judgments_import


class Command(TrenchcoatCommand):
    help = (
        "Import existing judgments (JSONL: likert and pairwise lines, DESIGN 4.4) from another tool "
        "or a past campaign. Raters keep their external ids. All or nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a .jsonl file")
        parser.add_argument("--project", required=True, help="project slug")
        super().add_arguments(parser)

    def run(self, **options):
        project = self.project(options["project"])
        path = self.existing_file(options["file"])
        with self.progress_bar(options, "judgments") as bar:
            result = judgments_import(project=project, source=path, progress=bar.update)
        return {"project": project.slug, "file": str(path), **result.as_dict()}

    def render(self, result) -> None:
        created, unchanged = result["created"], result["unchanged"]
        self.stdout.write(
            f"Imported {created['likert']} Likert and {created['pairwise']} pairwise judgments from "
            f"{created['annotators']} new annotators into '{result['project']}' "
            f"({unchanged['likert'] + unchanged['pairwise']} already there)"
        )
