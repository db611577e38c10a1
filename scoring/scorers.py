"""Registering scorers (DESIGN 6.1): ``scorer_apply`` (the command and the admin's checks).

A model directory is checked from its files alone (config.json, the tokenizer's chat
template), so registering never imports torch; its revision is the sha256 over its files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.errors import DomainError, Problem, ValidationProblems
from annotation.models import Project

from .backends import ScorerSpec, directory_revision
from .backends.builtin import METRICS
from .models import Scorer

SCORER_FIELDS = (
    "name",
    "kind",
    "backend",
    "metric",
    "project",
    "model_path",
    "dtype",
    "max_length",
    "batch_tokens",
    "template",
    "system_prompt",
    "bos",
    "higher_is_better",
    "description",
    "licence",
)
MODEL_BACKENDS = (Scorer.Backend.TRANSFORMERS, Scorer.Backend.VLLM, Scorer.Backend.EMBEDDING)
CLASSIFIER_BACKENDS = (Scorer.Backend.TRANSFORMERS, Scorer.Backend.VLLM)
EMBEDDING_METRICS = ("embedding_relevance",)


def scorer_spec(scorer: Scorer) -> ScorerSpec:
    return ScorerSpec(
        name=scorer.name,
        backend=scorer.backend,
        metric=scorer.metric,
        model_path=scorer.model_path,
        revision=scorer.revision,
        dtype=scorer.dtype,
        max_length=scorer.max_length,
        batch_tokens=scorer.batch_tokens,
        template=scorer.template,
        system_prompt=scorer.system_prompt,
        bos=scorer.bos,
    )


def _has_chat_template(path: Path) -> bool:
    if (path / "chat_template.jinja").is_file() or (path / "chat_template.json").is_file():
        return True
    try:
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(config.get("chat_template"))


def classifier_problems(path: Path, *, has_template: bool) -> list[Problem]:
    """A reward model's directory: a sequence classifier with exactly one output, and a way
    to format a conversation (the tokenizer's chat template, or the scorer's template)."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [Problem(None, "model_path", f"{path} has no config.json; is it a model directory?")]
    except ValueError as exc:
        return [Problem(None, "model_path", f"{path}/config.json is not valid JSON: {exc}")]
    problems: list[Problem] = []
    architectures = config.get("architectures") or []
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        found = ", ".join(architectures) or "no architecture"
        problems.append(
            Problem(
                None,
                "model_path",
                f"{path} holds {found}, not a sequence classifier "
                "(a reward model is an ...ForSequenceClassification)",
            )
        )
    outputs = len(config["id2label"]) if config.get("id2label") else config.get("num_labels", 2)
    if outputs != 1:
        problems.append(
            Problem(
                None,
                "model_path",
                f"{path} has {outputs} outputs (num_labels={outputs}); "
                "a reward model has exactly one",
            )
        )
    if not has_template and not _has_chat_template(path):
        problems.append(
            Problem(
                None,
                "template",
                f"the tokenizer in {path} has no chat template; give a template string "
                "with {prompt} and {response}",
            )
        )
    return problems


def backend_problems(scorer: Scorer) -> list[Problem]:
    """What the backend needs: a known metric, a model directory that holds a reward model."""
    problems: list[Problem] = []
    backend, kind = scorer.backend, scorer.kind
    if backend == Scorer.Backend.BUILTIN:
        if scorer.metric not in METRICS:
            problems.append(
                Problem(None, "metric", f"'{scorer.metric}' is not one of {', '.join(METRICS)}")
            )
        if kind != Scorer.Kind.METRIC:
            problems.append(Problem(None, "kind", "a built-in scorer is a 'metric'"))
    elif backend == Scorer.Backend.EMBEDDING:
        if scorer.metric not in EMBEDDING_METRICS:
            problems.append(
                Problem(
                    None,
                    "metric",
                    f"'{scorer.metric}' is not one of {', '.join(EMBEDDING_METRICS)}",
                )
            )
        if kind != Scorer.Kind.METRIC:
            problems.append(Problem(None, "kind", "an embedding scorer is a 'metric'"))
    elif backend in CLASSIFIER_BACKENDS:
        if kind != Scorer.Kind.REWARD_MODEL:
            problems.append(Problem(None, "kind", f"a {backend} scorer is a 'reward_model'"))
        if scorer.metric:
            problems.append(
                Problem(None, "metric", "only builtin and embedding scorers name a metric")
            )
    if scorer.template and "{response}" not in scorer.template:
        problems.append(Problem(None, "template", "must contain {response} (and usually {prompt})"))
    if backend in MODEL_BACKENDS:
        if not scorer.model_path:
            problems.append(Problem(None, "model_path", f"required for the {backend} backend"))
        elif not Path(scorer.model_path).is_dir():
            problems.append(
                Problem(
                    None, "model_path", f"{scorer.model_path} does not exist or is not a directory"
                )
            )
        elif backend in CLASSIFIER_BACKENDS:
            problems += classifier_problems(
                Path(scorer.model_path), has_template=bool(scorer.template)
            )
    elif scorer.model_path:
        problems.append(Problem(None, "model_path", f"the {backend} backend reads no model"))
    return problems


def scorer_problems(scorer: Scorer) -> list[Problem]:
    """Every problem with a scorer as the admin or a definition gives it."""
    problems: list[Problem] = []
    try:
        scorer.full_clean(exclude=["revision"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems += [
            Problem(None, name if name != "__all__" else "(scorer)", "; ".join(msgs))
            for name, msgs in exc.message_dict.items()
        ]
    if not any(p.field in ("backend", "kind") for p in problems):
        problems += backend_problems(scorer)
    return problems


def raise_problems(problems: list[Problem], *, name: str) -> None:
    """One problem: a one-line error; several: each on its own line."""
    if len(problems) == 1:
        raise DomainError(f"scorer '{name}' rejected: {problems[0]}")
    if problems:
        raise ValidationProblems(problems, what=f"scorer '{name}'")


@transaction.atomic
def scorer_apply(*, definition: Any, base_dir: Path | None = None) -> tuple[Scorer, bool]:
    """Create or update a scorer from a definition (the scorer_apply JSON format).

    Idempotent: the same definition over the same files changes nothing. A relative
    ``model_path`` is taken from ``base_dir`` (the definition file's folder). The model
    directory's revision is taken now; re-applying after its files changed takes the new one.
    Raises a DomainError naming every problem; nothing is written then.
    """
    if not isinstance(definition, dict):
        raise DomainError("scorer rejected: the definition must be a JSON object")
    name = definition.get("name")
    problems = [
        Problem(None, key, f"unknown field; allowed: {', '.join(SCORER_FIELDS)}")
        for key in definition
        if key not in SCORER_FIELDS
    ]
    if not name or not isinstance(name, str):
        problems.append(Problem(None, "name", "required: a short identifier such as 'skywork-8b'"))
        raise_problems(problems, name=str(name or "?"))
    scorer = Scorer.objects.select_for_update().filter(name=name).first()
    created = scorer is None
    if created:
        scorer = Scorer(name=name)
    stored = _snapshot(scorer)
    for field in SCORER_FIELDS:
        if field in ("name", "project") or field not in definition:
            continue
        value = definition[field]
        if field == "model_path" and isinstance(value, str) and value:
            path = Path(value).expanduser()
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            value = str(path.resolve())
        setattr(scorer, field, value)
    if "project" in definition:
        slug = definition["project"]
        project = Project.objects.filter(slug=slug).first() if isinstance(slug, str) else None
        if slug is not None and project is None:
            problems.append(
                Problem(None, "project", f"no project '{slug}'; leave it out for every project")
            )
        scorer.project = project
    if created and "metric" not in definition and scorer.backend == Scorer.Backend.EMBEDDING:
        scorer.metric = "embedding_relevance"
    problems += scorer_problems(scorer)
    raise_problems(problems, name=name)
    if scorer.backend in MODEL_BACKENDS:
        scorer.revision = directory_revision(scorer.model_path)
    else:
        scorer.revision = ""
    if created or _snapshot(scorer) != stored:
        scorer.save()
    return scorer, created


def _snapshot(scorer: Scorer) -> dict[str, Any]:
    return {f.attname: getattr(scorer, f.attname) for f in Scorer._meta.concrete_fields}
