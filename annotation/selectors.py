"""Reads for the annotation app's pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from . import access
from .models import Project


@dataclass(frozen=True)
class HomeRow:
    project: Project
    role: str


def home_projects(*, user: AbstractBaseUser) -> list[HomeRow]:
    """The user's projects with their role in each (staff see every project as lead)."""
    if user.is_staff:
        return [HomeRow(project=p, role=access.Role.LEAD) for p in Project.objects.order_by("name")]
    rows = user.memberships.select_related("project").order_by("project__name")
    return [HomeRow(project=m.project, role=m.role) for m in rows]
