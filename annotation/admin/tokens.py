"""API tokens in the admin. Staff manage everyone's. A project lead manages only the tokens
of people who belong to the projects they lead and to no other, and who are not staff (see
``api_token_owners_managed_by``). A key is shown once, on the page that answers its creation,
and never again: only its digest is stored."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from ..errors import DomainError
from ..models import ApiToken
from ..selectors import api_token_owners_managed_by
from ..services.tokens import (
    DEFAULT_EXPIRY_DAYS,
    EXPIRY_DAYS,
    api_token_create,
    api_token_problem,
    api_token_revoke,
)
from .scoping import AccountField, is_staff, led_project_ids

EXPIRY_CHOICES = [(days, f"{days} days") for days in EXPIRY_DAYS]


class ApiTokenCreateForm(forms.ModelForm):
    account = AccountField(help_text="Whose token: their exact username or email address.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires in", choices=EXPIRY_CHOICES, coerce=int, initial=DEFAULT_EXPIRY_DAYS
    )
    # Replaced per request by ApiTokenAdmin.get_form: whose tokens the user may manage.
    owners = None

    class Meta:
        model = ApiToken
        fields = ("account", "name", "expires_in_days")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        owners = self.owners if self.owners is not None else get_user_model().objects.none()
        self.fields["account"].accounts = owners

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        problem = api_token_problem(
            user=cleaned["account"],
            name=cleaned["name"],
            expires_in_days=cleaned["expires_in_days"],
        )
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created", "expiry", "last_used_at", "state")
    search_fields = ("name", "user__username", "user__email")
    list_select_related = ("user",)
    fields = ("name", "user", "created", "expiry", "last_used_at")
    readonly_fields = fields
    actions = ["revoke_selected"]

    def _may_manage(self, request) -> bool:
        return is_staff(request) or bool(led_project_ids(request))

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_staff(request):
            return qs
        return qs.filter(user__in=api_token_owners_managed_by(user=request.user))

    def has_module_permission(self, request) -> bool:
        return self._may_manage(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_manage(request) and (obj is None or self._owns(request, obj))

    def has_add_permission(self, request) -> bool:
        return self._may_manage(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token is created and revoked, never edited

    def _owns(self, request, obj: ApiToken) -> bool:
        return api_token_owners_managed_by(user=request.user).filter(pk=obj.user_id).exists()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # revoke_selected goes through the service
        return actions

    @admin.action(description="Revoke selected API tokens", permissions=["delete"])
    def revoke_selected(self, request, queryset):
        count = 0
        for token in queryset:  # already scoped by get_queryset
            api_token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} API token(s); they no longer work.")

    def delete_model(self, request, obj):
        api_token_revoke(token=obj)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token)

    @admin.display(description="state")
    def state(self, obj: ApiToken) -> str:
        return "expired" if obj.expired else "active"

    def get_fields(self, request, obj=None):
        return ("account", "name", "expires_in_days") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            owners = api_token_owners_managed_by(user=request.user)
            kwargs["form"] = type("ApiTokenCreateForm", (ApiTokenCreateForm,), {"owners": owners})
        return super().get_form(request, obj, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        if request.method != "POST":
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.get_form(request)(request.POST)
        if form.is_valid():
            try:
                new = api_token_create(
                    user=form.cleaned_data["account"],
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except DomainError as exc:  # lost a race with a request creating the same name
                self.message_user(request, str(exc), level="error")
            else:
                self.log_addition(request, new.token, [{"added": {}}])
                return self._created(request, new.token, new.key)
        # Invalid: let the admin render the form with its errors.
        return super().add_view(request, form_url, extra_context)

    def _created(self, request, token: ApiToken, key: str) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": token,
            "key": key,
        }
        response = TemplateResponse(request, "admin/annotation/apitoken/created.html", context)
        add_never_cache_headers(response)
        return response
