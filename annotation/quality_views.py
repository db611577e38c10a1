"""The lead's quality-control actions (DESIGN 4.5): mark gold, pause or resume an annotator,
exclude an annotator from aggregation or include them again. POST only, leads only:
outsiders get 404, other roles 403 (``access``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from . import access
from .errors import DomainError
from .models import Annotator, Membership, Project, Response
from .services.quality import (
    annotator_exclude,
    annotator_include,
    annotator_pause,
    annotator_resume,
    gold_mark,
)

ACTIONS = {
    "pause": (annotator_pause, "{name} is paused: no new tasks until you resume them."),
    "resume": (annotator_resume, "{name} is resumed and gets tasks again."),
    "exclude": (annotator_exclude, "{name}'s judgments are left out of the next runs."),
    "include": (annotator_include, "{name}'s judgments count again from the next run."),
}


def _done(request: HttpRequest, project: Project, message: str, status: int = 200):
    if request.headers.get("Accept", "").startswith("application/json"):
        key = "detail" if status >= 400 else "message"
        return JsonResponse({key: message}, status=status)
    (messages.error if status >= 400 else messages.success)(request, message)
    return redirect("annotation:project_lead", slug=project.slug)


def _annotator_in(project: Project, annotator_id: int) -> Annotator:
    """A member of the project or one of its imported raters; 404 for anyone else."""
    annotator = (
        Annotator.objects.select_related("user")
        .filter(pk=annotator_id)
        .filter(
            Q(project=project)
            | Q(user__in=Membership.objects.filter(project=project).values("user_id"))
        )
        .first()
    )
    if annotator is None:
        raise Http404("No such annotator in this project.")
    return annotator


@login_required
@require_POST
def annotator_action(
    request: HttpRequest, slug: str, annotator_id: int, action: str
) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    if action not in ACTIONS:
        raise Http404("No such action.")
    annotator = _annotator_in(project, annotator_id)
    service, message = ACTIONS[action]
    kwargs = {"project": project, "annotator": annotator}
    if action == "exclude":
        kwargs.update(reason=request.POST.get("reason", ""), by=request.user)
    try:
        service(**kwargs)
    except DomainError as exc:
        return _done(request, project, str(exc), status=exc.status_code)
    return _done(request, project, message.format(name=annotator))


def _response_in(project: Project, value: str | None, field: str) -> Response | None:
    if value in (None, ""):
        return None
    if not str(value).isascii() or not str(value).isdigit():
        raise DomainError(f"{field}: give the response's id (a whole number).")
    response = Response.objects.filter(project=project, pk=int(value)).first()
    if response is None:
        raise Http404("No such response in this project.")
    return response


@login_required
@require_POST
def gold_mark_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Fields: ``response`` (id), optional ``response_b`` (id) and ``choice`` (a, b or tie)
    for a pair, ``rating-<criterion>`` and ``tolerance`` for a single response, and
    ``explanation``."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    post = request.POST
    try:
        response = _response_in(project, post.get("response"), "response")
        if response is None:
            raise DomainError("response: choose the response to mark gold.")
        ratings = {k.removeprefix("rating-"): v for k, v in post.items() if k.startswith("rating-")}
        gold = gold_mark(
            project=project,
            response=response,
            response_b=_response_in(project, post.get("response_b"), "response_b"),
            expected_ratings=ratings or None,
            expected_choice=post.get("choice", ""),
            tolerance=post.get("tolerance") or 1,
            explanation=post.get("explanation", ""),
            by=request.user,
        )
    except DomainError as exc:
        return _done(request, project, str(exc), status=exc.status_code)
    return _done(request, project, f"Marked gold: {gold}.")
