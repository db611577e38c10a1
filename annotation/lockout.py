"""Login throttling glue for django-axes: the client's address and the lockout page."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

LOCKOUT_TEMPLATE = "429.html"


def client_address(request: HttpRequest) -> str | None:
    """The address logins are counted by (``AXES_CLIENT_IP_CALLABLE``).

    The same rule as the REST API's throttles (``NUM_PROXIES``, set from
    ``TRENCHCOAT_PROXY_COUNT``), so both agree on who a client is behind a proxy.
    """
    return BaseThrottle().get_ident(request)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 in the site's layout, saying when to try again, with a matching Retry-After.

    Every attempt during a lockout is recorded and restarts the cool-off (axes'
    ``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), so the lockout ends one cool-off
    after this attempt; failures spread over older records can only make it end sooner.
    """
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds())
    response = render(
        request,
        LOCKOUT_TEMPLATE,
        {
            "retry_at": timezone.now() + cool_off,
            "retry_minutes": math.ceil(seconds / 60),
            "login_url": request.get_full_path(),
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
