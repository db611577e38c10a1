import json
from pathlib import Path

from django.core.management.base import CommandError

from annotation.errors import Problem, ValidationProblems
from annotation.management.base import TrenchcoatCommand
from annotation.services.projects import project_apply


class Command(TrenchcoatCommand):
    help = (
        "Create or update a project from a JSON definition (slug, name, guidelines, criteria with "
        "scale, level and weight, domains with target shares, quorums, blend_alpha, seed, ...). "
        "Idempotent; validated exactly like the admin. See README 'Project definitions'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path to the project definition (JSON)")
        super().add_arguments(parser)

    def run(self, **options):
        path = Path(options["file"])
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except json.JSONDecodeError as exc:
            raise ValidationProblems(
                [Problem(exc.lineno, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}")],
                what=str(path),
            ) from None
        project, created = project_apply(definition=definition)
        return {
            "project": project.slug,
            "id": project.pk,
            "created": created,
            "criteria": [
                {
                    "key": c.key,
                    "weight": c.weight,
                    "scale": [c.scale_min, c.scale_max],
                    "level": c.level,
                }
                for c in project.criteria.all()
            ],
            "domains": [
                {"name": d.name, "target_share": d.target_share} for d in project.domains.all()
            ],
        }

    def render(self, result) -> None:
        verb = "Created" if result["created"] else "Updated"
        self.stdout.write(f"{verb} project '{result['project']}' (id {result['id']})")
        for c in result["criteria"]:
            self.stdout.write(
                f"  criterion {c['key']:<16} weight {c['weight']:.3f}  {c['scale'][0]}..{c['scale'][1]} {c['level']}"
            )
        for d in result["domains"]:
            self.stdout.write(f"  domain    {d['name']:<16} target {d['target_share']:.3f}")
