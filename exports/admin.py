"""Releases in the admin: read-only, since a published release never changes. New releases
are requested from the releases page, the API or the ``release`` command."""

from django.contrib import admin

from annotation.admin import LeadScopedAdmin
from annotation.admin.scoping import PROJECT_FILTER

from .models import Release


@admin.register(Release)
class ReleaseAdmin(LeadScopedAdmin):
    list_display = (
        "__str__",
        "project",
        "version",
        "status",
        "run",
        "seed",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", PROJECT_FILTER)
    search_fields = ("project__slug",)
    lead_can_change = False
    lead_can_add = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
