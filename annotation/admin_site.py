"""The admin site: staff, and project leads scoped to their own projects (annotation/admin/).

This module is imported while apps load, so models and forms are imported inside methods.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class TrenchcoatAdminSite(admin.AdminSite):
    site_header = "Trenchcoat administration"
    site_title = "Trenchcoat"
    index_title = "Projects, items and judgments"

    @property
    def login_form(self):
        from .admin.login import AdminLoginForm

        return AdminLoginForm

    def has_permission(self, request) -> bool:
        from .admin.login import may_use_admin

        return may_use_admin(request.user)


class TrenchcoatAdminConfig(AdminConfig):
    default_site = "annotation.admin_site.TrenchcoatAdminSite"
