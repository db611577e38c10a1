from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import access, selectors
from .health import broker_status, database_status


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_status()
    broker = broker_status()
    ok = database["ok"] and broker["ok"]
    return JsonResponse({"ok": ok, "database": database, "broker": broker}, status=200 if ok else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    rows = selectors.home_projects(user=request.user)
    return render(request, "annotation/home.html", {"rows": rows})
