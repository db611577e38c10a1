"""manage.py scorer_apply FILE.json: register or update a scorer (DESIGN 6.1)."""

from __future__ import annotations

import json
from pathlib import Path

from annotation.errors import Problem, ValidationProblems
from annotation.management.base import TrenchcoatCommand
from scoring.scorers import SCORER_FIELDS, scorer_apply


class Command(TrenchcoatCommand):
    help = (
        "Register or update a scorer from a JSON definition: name, kind (reward_model | metric "
        "| judge), backend (transformers | vllm | builtin | embedding | external), metric, "
        "model_path (a local directory; relative to the file), dtype, max_length, "
        "batch_tokens, template, system_prompt, bos (auto | add | strip), higher_is_better, "
        "project, description, licence. Takes the model directory's revision (sha256 over "
        "its files); apply again after changing the files. See README 'Scorers'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path to the scorer definition (JSON)")
        super().add_arguments(parser)

    def run(self, **options):
        path = self.existing_file(options["file"])
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationProblems(
                [Problem(exc.lineno, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}")],
                what=str(path),
            ) from None
        scorer, created = scorer_apply(definition=definition, base_dir=Path(path).resolve().parent)
        return {
            "scorer": scorer.name,
            "id": scorer.pk,
            "created": created,
            **{
                field: getattr(scorer, field)
                for field in SCORER_FIELDS
                if field not in ("name", "project", "template", "system_prompt", "description")
            },
            "project": scorer.project.slug if scorer.project else None,
            "revision": scorer.revision,
        }

    def render(self, result) -> None:
        verb = "Registered" if result["created"] else "Updated"
        self.stdout.write(
            f"{verb} scorer '{result['scorer']}' (id {result['id']}): {result['kind']}, "
            f"backend {result['backend']}"
        )
        if result["model_path"]:
            self.stdout.write(f"  model    {result['model_path']}")
            self.stdout.write(f"  revision {result['revision']}")
