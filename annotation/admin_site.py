"""The admin site: staff, and project leads scoped to their own projects (annotation/admin.py)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class TrenchcoatAdminSite(admin.AdminSite):
    site_header = "Trenchcoat administration"
    site_title = "Trenchcoat"
    index_title = "Projects, items and judgments"

    def has_permission(self, request) -> bool:
        from .models import Membership

        user = request.user
        if not user.is_active:
            return False
        return (
            user.is_staff
            or Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()
        )


class TrenchcoatAdminConfig(AdminConfig):
    default_site = "annotation.admin_site.TrenchcoatAdminSite"
