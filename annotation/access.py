"""Who may see and do what in a project. Every page and endpoint goes through here.

Outsiders get 404, not 403: they must not learn that a project exists. A member whose role
does not allow an action gets 403. Django staff can do everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from .models import Annotator, Membership, Project

Role = Membership.Role

# What each role may do. Leads may annotate their own projects too.
ANNOTATE = frozenset({Role.ANNOTATOR, Role.LEAD})
READ_RESULTS = frozenset({Role.LEAD, Role.RESEARCHER})
MANAGE = frozenset({Role.LEAD})
ANY_MEMBER = frozenset(Role)


def projects_with_role(
    user: AbstractBaseUser | AnonymousUser, roles: Iterable[str]
) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(
        memberships__user=user, memberships__role__in=list(roles)
    ).distinct()


def role_in(user: AbstractBaseUser | AnonymousUser, project: Project) -> str | None:
    """The user's role in the project; staff count as leads. None for outsiders."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.LEAD
    return (
        Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    )


def _project_with_role(
    user: AbstractBaseUser | AnonymousUser, slug: str, roles: Iterable[str], queryset: QuerySet
) -> Project:
    if not user.is_authenticated:
        raise Http404("No such project.")
    if not user.is_staff:
        # The role in the same query as the project: one round trip on every page.
        queryset = queryset.annotate(
            member_role=Subquery(
                Membership.objects.filter(project=OuterRef("pk"), user=user)
                .order_by("id")
                .values("role")[:1]
            )
        )
    try:
        project = queryset.get(slug=slug)
    except Project.DoesNotExist:
        raise Http404("No such project.") from None
    role = Role.LEAD if user.is_staff else project.member_role
    if role is None:
        raise Http404("No such project.")
    if role not in set(roles):
        raise PermissionDenied("Your role in this project does not allow this.")
    return project


def project_get_for(
    user: AbstractBaseUser | AnonymousUser, slug: str, *, roles: Iterable[str] = ANY_MEMBER
) -> Project:
    """The project if the user may act on it with one of ``roles``; 404 for outsiders, 403
    for members whose role does not allow it."""
    return _project_with_role(user, slug, roles, Project.objects.all())


def project_get_for_annotator(
    user: AbstractBaseUser | AnonymousUser, slug: str
) -> tuple[Project, Annotator]:
    """``project_get_for`` with the ANNOTATE roles, and the user's Annotator row, in one
    query: the annotator pages' hot path (every next task and submit)."""
    from .services.assignments import annotator_for_user

    project = _project_with_role(
        user,
        slug,
        ANNOTATE,
        Project.objects.annotate(
            annotator_pk=Subquery(Annotator.objects.filter(user=user).values("pk")[:1])
        ),
    )
    if project.annotator_pk is None:
        return project, annotator_for_user(user=user)
    # Only its key is read on these pages; the user is attached so str() costs no query.
    annotator = Annotator(pk=project.annotator_pk, user=user)
    annotator._state.adding = False
    annotator._state.db = project._state.db
    return project, annotator
