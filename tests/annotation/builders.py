"""Builders shared by the assignment, submission and page tests.

Items are written with bulk_create, as an import would, so the tests do not depend on the
import service; the claim builds tasks from them lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.contrib.auth import get_user_model

from annotation.models import Domain, Membership, Project, Prompt, Response
from annotation.services.assignments import annotator_for_user
from annotation.services.projects import project_create


def make_project(
    *,
    slug: str = "p",
    domains: Sequence[tuple[str, float]] = (("general", 1.0),),
    likert_quorum: int = 3,
    pairwise_quorum: int = 3,
    **fields,
) -> Project:
    return project_create(
        slug=slug,
        name=slug.title(),
        domains=[{"name": name, "target_share": share} for name, share in domains],
        likert_quorum=likert_quorum,
        pairwise_quorum=pairwise_quorum,
        **fields,
    )


def add_items(
    project: Project,
    *,
    prompts: int,
    responses: int = 1,
    domain: str | None = None,
    prompt_text: str = "Prompt {i}",
    response_text: str = "Response {i}.{j}",
    start: int = 0,
) -> list[Prompt]:
    dom = Domain.objects.get(project=project, name=domain) if domain else project.domains.first()
    made = Prompt.objects.bulk_create(
        [
            Prompt(
                project=project,
                domain=dom,
                text=prompt_text.format(i=i),
                external_id=f"{dom.name}-{i}",
                content_hash=hashlib.sha256(f"{project.pk}-{dom.name}-{i}".encode()).hexdigest(),
            )
            for i in range(start, start + prompts)
        ]
    )
    Response.objects.bulk_create(
        [
            Response(
                project=project,
                prompt=p,
                text=response_text.format(i=p.external_id, j=j),
                external_id=f"{p.external_id}-r{j}",
                content_hash=hashlib.sha256(f"{p.pk}-{j}".encode()).hexdigest(),
            )
            for p in made
            for j in range(responses)
        ]
    )
    return made


def make_annotator(
    project: Project, username: str, role: str = "annotator", password: str | None = None
):
    # No password unless asked: hashing one costs ~0.3 s, and tests log in with force_login.
    user = get_user_model().objects.create_user(username=username, password=password)
    Membership.objects.create(user=user, project=project, role=role)
    return user, annotator_for_user(user=user)


def ratings_for(project: Project, value: int = 3) -> dict[str, int]:
    return {key: value for key in project.criteria.values_list("key", flat=True)}
