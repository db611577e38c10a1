"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def may_use_api(user) -> bool:
    """Staff, and leads and researchers of some project: the API serves results, releases
    and imports, nothing an annotator can use, so annotators get no API token link."""
    from . import access
    from .models import Membership

    if not (user.is_authenticated and user.is_active):
        return False
    return (
        user.is_staff
        or Membership.objects.filter(user=user, role__in=list(access.READ_RESULTS)).exists()
    )


def navigation(request: HttpRequest) -> dict:
    """``may_use_admin``: staff and project leads (who are not staff) get the Admin link;
    ``may_use_api``: staff, leads and researchers get the API tokens link.

    Lazy, so pages that never render the top bar (HTMX fragments) run no query for them."""
    from .admin.login import may_use_admin

    return {
        "may_use_admin": SimpleLazyObject(lambda: may_use_admin(request.user)),
        "may_use_api": SimpleLazyObject(lambda: may_use_api(request.user)),
    }
