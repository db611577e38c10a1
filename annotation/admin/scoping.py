"""Who sees what in the admin: staff everything, a project lead the projects they lead.

Every queryset, every foreign-key choice (including autocomplete), and every related list
filter of a ``LeadScopedAdmin`` is scoped, so that a lead can neither read nor write another
project's rows by typing its ids.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, Q, QuerySet

from ..models import Membership, Project


def lead_project_ids_of(user: AbstractBaseUser | AnonymousUser) -> list[int]:
    """Projects the user leads; none for anonymous and inactive users."""
    if not (user.is_authenticated and user.is_active):
        return []
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.LEAD).values_list(
            "project_id", flat=True
        )
    )


def led_project_ids(request) -> list[int]:
    cache = getattr(request, "_led_project_ids", None)
    if cache is None:
        cache = lead_project_ids_of(request.user)
        request._led_project_ids = cache
    return cache


def is_staff(request) -> bool:
    return request.user.is_active and request.user.is_staff


# A related list filter names only the related rows that the (scoped) changelist contains.
PROJECT_FILTER = ("project", admin.RelatedOnlyFieldListFilter)
DOMAIN_FILTER = ("domain", admin.RelatedOnlyFieldListFilter)


class LeadScopedAdmin(admin.ModelAdmin):
    """Staff see everything; leads see rows of the projects they lead."""

    project_path = "project"
    lead_can_change = True
    lead_can_add = True
    lead_can_delete = False

    def get_queryset(self, request) -> QuerySet:
        qs = super().get_queryset(request)
        if is_staff(request):
            return qs
        return qs.filter(**{f"{self.project_path}__in": led_project_ids(request)})

    def has_module_permission(self, request) -> bool:
        return is_staff(request) or bool(led_project_ids(request))

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_staff(request) or (self.lead_can_change and bool(led_project_ids(request)))

    def has_add_permission(self, request) -> bool:
        return is_staff(request) or (self.lead_can_add and bool(led_project_ids(request)))

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_staff(request) or (self.lead_can_delete and bool(led_project_ids(request)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not is_staff(request):
            kwargs["queryset"] = self.scoped_choices(db_field.related_model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scoped_choices(self, model: type[Model], request) -> QuerySet:
        """The rows of ``model`` a lead may pick: what its admin shows them, or the rows of
        their projects, or nothing."""
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, LeadScopedAdmin):
            return related_admin.get_queryset(request)
        led = led_project_ids(request)
        if model is Project:
            return Project.objects.filter(pk__in=led)
        if any(f.name == "project" for f in model._meta.fields):
            return model._default_manager.filter(project__in=led)
        return model._default_manager.none()


class LeadScopedInline(admin.options.InlineModelAdmin):
    """Rows shown inline on a project's page (criteria, domains, members).

    The page's own admin already limits the projects a lead can open to those they lead;
    the permissions here look at the project itself (``obj``), so an inline never opens on
    another project, and the rows are filtered by project as well. Django's default inline
    permissions ask for model permissions that a lead (not staff) never has, which hid
    every inline from them.
    """

    lead_can_delete = False

    def get_queryset(self, request) -> QuerySet:
        qs = super().get_queryset(request)
        if is_staff(request):
            return qs
        return qs.filter(project__in=led_project_ids(request))

    def _leads(self, request, obj) -> bool:
        if is_staff(request):
            return True
        led = led_project_ids(request)
        if obj is None:
            return bool(led)
        return isinstance(obj, Project) and obj.pk in led

    def has_view_permission(self, request, obj=None) -> bool:
        return self._leads(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._leads(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._leads(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._leads(request, obj) and (is_staff(request) or self.lead_can_delete)


class AccountField(forms.CharField):
    """An account typed by exact username or email, never picked from a list of accounts."""

    def __init__(self, *, accounts: QuerySet | None = None, **kwargs):
        kwargs.setdefault("label", "User")
        kwargs.setdefault("help_text", "The person's exact username or email address.")
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.accounts = accounts

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        accounts = self.accounts if self.accounts is not None else get_user_model().objects
        found = list(accounts.filter(Q(username=value) | Q(email__iexact=value))[:3])
        by_username = [u for u in found if u.username == value]
        if by_username:
            return by_username[0]
        if len(found) > 1:
            raise forms.ValidationError(
                "Several accounts use this email address; type the username instead."
            )
        if not found:
            raise forms.ValidationError(
                f"No account you may choose has the username or email '{value}'. "
                "Check the spelling, or ask an administrator to create the account."
            )
        return found[0]
