"""Creating and updating projects, their criteria and domains.

``project_apply`` (the ``project_apply`` command, the seed) and the admin share the same
checks: ``criteria_problems`` and ``domain_problems``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..errors import Problem, ValidationProblems
from ..models import (
    DEFAULT_CRITERIA,
    WEIGHT_TOLERANCE,
    Criterion,
    Domain,
    LikertJudgment,
    Project,
    Prompt,
)

PROJECT_FIELDS = (
    "name",
    "guidelines",
    "likert_quorum",
    "pairwise_quorum",
    "pairwise_weight",
    "blend_alpha",
    "pairwise_method",
    "agreement_target",
    "lease_seconds",
    "test_fraction",
    "seed",
    "gold_rate",
    "dispute_boost",
    "tie_tolerance",
    "origin_targets",
    "source_targets",
    "check_min_gold_accuracy",
    "check_min_agreement",
    "check_max_straight_lining",
    "check_left_pick_p",
    "check_max_skip_rate",
    "check_min_n",
    "status",
)
CRITERION_FIELDS = (
    "key",
    "label",
    "description",
    "scale_min",
    "scale_max",
    "point_labels",
    "level",
    "weight",
)
DOMAIN_FIELDS = ("name", "target_share", "safety_critical")


def criteria_problems(
    criteria: Sequence[dict[str, Any]], *, where: str = "criteria"
) -> list[Problem]:
    """Problems with a project's criteria as a whole: at least one, unique keys, weights >= 0
    summing to 1, ordered scales."""
    problems: list[Problem] = []
    if not criteria:
        return [Problem(None, where, "a project needs at least one criterion")]
    seen: set[str] = set()
    total = 0.0
    for i, c in enumerate(criteria):
        key = c.get("key")
        if key in seen:
            problems.append(
                Problem(None, f"{where}[{i}].key", f"'{key}' is used twice; keys must be unique")
            )
        seen.add(key)
        weight = c.get("weight", 0.25)
        if (
            not isinstance(weight, int | float)
            or isinstance(weight, bool)
            or not math.isfinite(weight)
        ):
            problems.append(Problem(None, f"{where}[{i}].weight", f"{weight!r} is not a number"))
            continue
        if weight < 0:
            problems.append(
                Problem(None, f"{where}[{i}].weight", f"{weight} is negative; weights are >= 0")
            )
        total += weight
        lo, hi = c.get("scale_min", 1), c.get("scale_max", 5)
        if isinstance(lo, int) and isinstance(hi, int) and lo >= hi:
            problems.append(
                Problem(
                    None,
                    f"{where}[{i}].scale_max",
                    f"scale {lo}..{hi} is empty; scale_max must exceed scale_min",
                )
            )
    if not problems and abs(total - 1.0) > WEIGHT_TOLERANCE:
        listed = ", ".join(f"{c.get('key')}={c.get('weight', 0.25)}" for c in criteria)
        problems.append(
            Problem(
                None,
                f"{where}.weight",
                f"weights must sum to 1, these sum to {total:.6g} ({listed})",
            )
        )
    return problems


def domain_problems(domains: Sequence[dict[str, Any]], *, where: str = "domains") -> list[Problem]:
    """Problems with a project's domains: at least one, unique names, shares summing to 1."""
    if not domains:
        return [Problem(None, where, "a project needs at least one domain")]
    problems: list[Problem] = []
    names = [d.get("name") for d in domains]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append(
                Problem(None, f"{where}[{i}].name", f"'{name}' is used twice; names must be unique")
            )
    shares = [d.get("target_share") for d in domains]
    if any(s is not None for s in shares):
        if any(s is None for s in shares):
            problems.append(
                Problem(
                    None,
                    f"{where}.target_share",
                    "give a target_share for every domain or for none",
                )
            )
        elif abs(sum(shares) - 1.0) > WEIGHT_TOLERANCE:
            problems.append(
                Problem(
                    None,
                    f"{where}.target_share",
                    f"target shares must sum to 1, these sum to {sum(shares):.6g}",
                )
            )
    return problems


def _equal_shares(domains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if domains and all(d.get("target_share") is None for d in domains):
        share = 1.0 / len(domains)
        return [{**d, "target_share": share} for d in domains]
    return domains


def _full_clean(obj, field_prefix: str, exclude: list[str]) -> list[Problem]:
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return [
            Problem(
                None,
                f"{field_prefix}{name}" if name != "__all__" else field_prefix.rstrip("."),
                "; ".join(msgs),
            )
            for name, msgs in exc.message_dict.items()
        ]
    return []


def _unknown_keys(data: dict, allowed: Sequence[str], where: str) -> list[Problem]:
    return [
        Problem(None, f"{where}{key}", f"unknown field; allowed: {', '.join(allowed)}")
        for key in data
        if key not in allowed
    ]


@transaction.atomic
def project_apply(*, definition: dict[str, Any]) -> tuple[Project, bool]:
    """Create or update a project from a definition (the project_apply JSON format).

    Idempotent: applying the same definition twice changes nothing the second time.
    Criteria and domains are matched by key and name; one missing from the definition is
    removed, unless judgments or prompts use it (then the whole apply is refused).
    Raises ValidationProblems listing every problem; nothing is written then.
    """
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        raise ValidationProblems(
            [Problem(None, "(top level)", "the definition must be a JSON object")], what="project"
        )
    problems += _unknown_keys(definition, ("slug", *PROJECT_FIELDS, "criteria", "domains"), "")
    slug = definition.get("slug")
    if not slug or not isinstance(slug, str):
        problems.append(
            Problem(None, "slug", "required: a short identifier such as 'helpfulness-v2'")
        )
        raise ValidationProblems(problems, what="project")

    project = Project.objects.filter(slug=slug).first()
    created = project is None
    if created:
        project = Project(slug=slug)
    for field in PROJECT_FIELDS:
        if field in definition:
            setattr(project, field, definition[field])
    if created and "name" not in definition:
        project.name = slug
    problems += _full_clean(project, "", exclude=[])

    raw_criteria = definition.get("criteria")
    if raw_criteria is None:
        criteria = (
            [_criterion_dict(c) for c in project.criteria.all()]
            if not created
            else [dict(c, weight=0.25) for c in DEFAULT_CRITERIA]
        )
    else:
        criteria = list(raw_criteria) if isinstance(raw_criteria, list) else []
        if not isinstance(raw_criteria, list):
            problems.append(Problem(None, "criteria", "must be a list of criterion objects"))
    raw_domains = definition.get("domains")
    if raw_domains is None:
        domains = (
            [_domain_dict(d) for d in project.domains.all()]
            if not created
            else [{"name": "general"}]
        )
    else:
        domains = list(raw_domains) if isinstance(raw_domains, list) else []
        if not isinstance(raw_domains, list):
            problems.append(Problem(None, "domains", "must be a list of domain objects"))
    domains = _equal_shares(domains)

    for i, c in enumerate(criteria):
        if not isinstance(c, dict):
            problems.append(Problem(None, f"criteria[{i}]", "must be an object"))
            continue
        problems += _unknown_keys(c, CRITERION_FIELDS, f"criteria[{i}].")
    for i, d in enumerate(domains):
        if not isinstance(d, dict):
            problems.append(Problem(None, f"domains[{i}]", "must be an object"))
            continue
        problems += _unknown_keys(d, DOMAIN_FIELDS, f"domains[{i}].")
    if problems:
        raise ValidationProblems(problems, what="project")

    problems += criteria_problems(criteria)
    problems += domain_problems(domains)
    criterion_objs = []
    for i, c in enumerate(criteria):
        obj = Criterion(
            project=project if not created else None, position=i, **{"label": c.get("key", "")} | c
        )
        problems += _full_clean(obj, f"criteria[{i}].", exclude=["project"])
        criterion_objs.append(obj)
    domain_objs = []
    for i, d in enumerate(domains):
        obj = Domain(**d)
        problems += _full_clean(obj, f"domains[{i}].", exclude=["project"])
        domain_objs.append(obj)
    if not created:
        problems += _removal_problems(project, criteria, domains)
    if problems:
        raise ValidationProblems(problems, what="project")

    project.save()
    _sync_criteria(project, criterion_objs)
    _sync_domains(project, domain_objs)
    return project, created


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    return {f: getattr(c, f) for f in CRITERION_FIELDS}


def _domain_dict(d: Domain) -> dict[str, Any]:
    return {f: getattr(d, f) for f in DOMAIN_FIELDS}


def _removal_problems(project: Project, criteria: list[dict], domains: list[dict]) -> list[Problem]:
    problems = []
    keep_keys = {c["key"] for c in criteria}
    existing = {c.key: c for c in project.criteria.all()}
    judged = LikertJudgment.objects.filter(response__project=project).exists()
    for key in existing:
        if key not in keep_keys and judged:
            problems.append(
                Problem(
                    None,
                    "criteria",
                    f"criterion '{key}' has judgments and cannot be removed; keep it with weight 0",
                )
            )
    if judged:
        for i, c in enumerate(criteria):
            old = existing.get(c["key"])
            if old and (c.get("scale_min", 1), c.get("scale_max", 5)) != (
                old.scale_min,
                old.scale_max,
            ):
                problems.append(
                    Problem(
                        None,
                        f"criteria[{i}].scale_max",
                        f"the scale of '{old.key}' cannot change once judgments exist "
                        f"(it is {old.scale_min}..{old.scale_max}); add a new criterion instead",
                    )
                )
    keep_names = {d["name"] for d in domains}
    used = set(
        Prompt.objects.filter(project=project).values_list("domain__name", flat=True).distinct()
    )
    for name in sorted(used - keep_names):
        problems.append(
            Problem(None, "domains", f"domain '{name}' has prompts and cannot be removed")
        )
    return problems


def _sync_criteria(project: Project, objs: list[Criterion]) -> None:
    existing = {c.key: c for c in project.criteria.all()}
    for obj in objs:
        old = existing.pop(obj.key, None)
        if old is None:
            obj.project = project
            obj.save()
            continue
        changed = [f for f in (*CRITERION_FIELDS, "position") if getattr(old, f) != getattr(obj, f)]
        for f in changed:
            setattr(old, f, getattr(obj, f))
        if changed:
            old.save(update_fields=changed)
    for old in existing.values():
        old.delete()


def _sync_domains(project: Project, objs: list[Domain]) -> None:
    existing = {d.name: d for d in project.domains.all()}
    for obj in objs:
        old = existing.pop(obj.name, None)
        if old is None:
            obj.project = project
            obj.save()
            continue
        changed = [f for f in DOMAIN_FIELDS if getattr(old, f) != getattr(obj, f)]
        for f in changed:
            setattr(old, f, getattr(obj, f))
        if changed:
            old.save(update_fields=changed)
    for old in existing.values():
        old.delete()


def project_create(
    *,
    slug: str,
    name: str,
    domains: list[dict[str, Any]] | None = None,
    criteria: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Project:
    """A new project with the default criteria unless others are given."""
    definition: dict[str, Any] = {"slug": slug, "name": name, **fields}
    if domains is not None:
        definition["domains"] = domains
    if criteria is not None:
        definition["criteria"] = criteria
    if Project.objects.filter(slug=slug).exists():
        raise ValidationProblems(
            [Problem(None, "slug", f"a project '{slug}' exists already")], what="project"
        )
    project, _ = project_apply(definition=definition)
    return project
