"""Panels opened on their own: the lead page and the results pages load their panels as HTMX
fragments, and each panel's placeholder links to the fragment for a browser without
JavaScript (or a person who opens it in a new tab, or bookmarks it). Opened that way, the
bare fragment had no styles (its hidden data tables showed), no header and no way back, so
it is served inside the site's page instead."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe

from . import access
from .models import Project


def standalone_page(title: str) -> Callable:
    """Decorate a fragment view: an HTMX request gets the fragment as before; any other GET
    answered 200 with HTML gets the same fragment inside ``panel_page.html`` (the site's
    header and styles, the panel's title, a link back to the project page for the person's
    role). Errors, redirects and other content types pass through unchanged."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if (
                request.htmx
                or request.method != "GET"
                or response.status_code != 200
                or response.streaming
                or not response.get("Content-Type", "").startswith("text/html")
            ):
                return response
            project = Project.objects.get(slug=kwargs["slug"])
            lead = access.role_in(request.user, project) in access.MANAGE
            back = (
                (reverse("annotation:project_lead", args=[project.slug]), "Lead page")
                if lead
                else (reverse("scoring:project_runs", args=[project.slug]), "Aggregation")
            )
            # The view's own template rendered (and escaped) this HTML.
            panel = mark_safe(response.content.decode(response.charset))  # noqa: S308
            context = {"title": title, "project": project, "back": back, "panel": panel}
            return render(request, "panel_page.html", context)

        return wrapper

    return decorate
