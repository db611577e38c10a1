"""Releases in the admin: read-only, since a published release never changes. New releases
are requested from the releases page, the API or the ``release`` command."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from annotation.admin import LeadScopedAdmin, led_project_ids
from annotation.models import Membership

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
    list_filter = ("status", "project")
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


class LeadTokenAdmin(TokenAdmin):
    """API tokens. Staff manage everyone's; a lead creates and revokes tokens for the members
    of the projects they lead (researchers fetching releases with scripts, say)."""

    def _staff(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def _member_ids(self, request) -> list[int]:
        led = led_project_ids(request)
        return list(
            Membership.objects.filter(project__in=led).values_list("user_id", flat=True).distinct()
        )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if self._staff(request) else qs.filter(user__in=self._member_ids(request))

    def has_module_permission(self, request) -> bool:
        return self._staff(request) or bool(led_project_ids(request))

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._staff(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not self._staff(request):
            kwargs["queryset"] = get_user_model().objects.filter(pk__in=self._member_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, LeadTokenAdmin)
