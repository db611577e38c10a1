from annotation.management.base import TrenchcoatCommand
from annotation.services.imports import items_import


class Command(TrenchcoatCommand):
    help = (
        "Import prompts and responses: JSONL (one prompt per line, with its responses) or CSV (one "
        "response per row). All or nothing: every problem is reported with its line and field."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a .jsonl or .csv file")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--on-duplicate",
            choices=["reject", "merge", "keep"],
            default="reject",
            help="a prompt with the same normalized text as another: reject the file (default), "
            "merge its responses into the earlier prompt, or keep both (clustered as near duplicates)",
        )
        super().add_arguments(parser)

    def run(self, **options):
        project = self.project(options["project"])
        path = self.existing_file(options["file"])
        with self.progress_bar(options, "rows") as bar:
            result = items_import(
                project=project,
                source=path,
                on_duplicate=options["on_duplicate"],
                progress=bar.update,
            )
        return {"project": project.slug, "file": str(path), **result.as_dict()}

    def render(self, result) -> None:
        created, unchanged = result["created"], result["unchanged"]
        self.stdout.write(
            f"Imported {created['prompts']} prompts and {created['responses']} responses into "
            f"'{result['project']}' ({unchanged['prompts']} prompts and {unchanged['responses']} "
            f"responses already there, {result['merged'].get('prompts', 0)} merged duplicates, "
            f"{result['near_duplicate_clusters']} near-duplicate clusters)"
        )
