"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def navigation(request: HttpRequest) -> dict:
    """``may_use_admin``: staff and project leads (who are not staff) get the Admin link.

    Lazy, so pages that never render the top bar (HTMX fragments) run no query for it."""
    from .admin.login import may_use_admin

    return {"may_use_admin": SimpleLazyObject(lambda: may_use_admin(request.user))}
