"""Panels opened on their own: the lead page and the results pages load their panels as HTMX
fragments, and each panel's placeholder links to the fragment for a browser without
JavaScript (or a person who opens it in a new tab, or bookmarks it). Opened that way, the
bare fragment had no styles (its hidden data tables showed), no header and no way back, so
it is served inside the site's page instead."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from . import access
from .models import Project


def standalone_page(title: str) -> Callable:
    """Decorate a fragment view that returns a ``TemplateResponse``: an HTMX request gets
    the fragment as before; any other successful GET renders ``panel_page.html`` instead,
    which includes the fragment's own template with the view's own context (escaped as
    ever) inside the site's header and styles, under the panel's title, with a link back to
    the project page for the person's role. Anything else passes through unchanged."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if (
                request.htmx
                or request.method != "GET"
                or response.status_code != 200
                or not isinstance(response, TemplateResponse)
            ):
                return response
            project = Project.objects.get(slug=kwargs["slug"])
            lead = access.role_in(request.user, project) in access.MANAGE
            back = (
                (reverse("annotation:project_lead", args=[project.slug]), "Lead page")
                if lead
                else (reverse("scoring:project_runs", args=[project.slug]), "Aggregation")
            )
            response.context_data = {
                **(response.context_data or {}),
                "panel_title": title,
                "panel_project": project,
                "panel_back": back,
                "panel_template": response.template_name,
            }
            response.template_name = "panel_page.html"
            return response

        return wrapper

    return decorate
