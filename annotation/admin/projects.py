"""Projects with their criteria, domains and members; memberships on their own."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from ..models import Criterion, Domain, Membership, Project
from ..services.projects import criteria_problems, domain_problems
from .scoping import PROJECT_FILTER, AccountField, LeadScopedAdmin, is_staff


class _WholeSetFormSet(BaseInlineFormSet):
    """Validates the inline rows as one set, with the same checks as project_apply."""

    check = None  # criteria_problems or domain_problems
    fields_checked: tuple[str, ...] = ()

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            {f: form.cleaned_data.get(f) for f in self.fields_checked}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = type(self).check(rows)
        if problems:
            raise ValidationError([p.message for p in problems])


class CriterionFormSet(_WholeSetFormSet):
    check = staticmethod(criteria_problems)
    fields_checked = ("key", "weight", "scale_min", "scale_max")


class DomainFormSet(_WholeSetFormSet):
    check = staticmethod(domain_problems)
    fields_checked = ("name", "target_share")


class CriterionInline(admin.TabularInline):
    model = Criterion
    formset = CriterionFormSet
    extra = 0
    fields = (
        "position",
        "key",
        "label",
        "description",
        "scale_min",
        "scale_max",
        "level",
        "weight",
        "point_labels",
    )


class DomainInline(admin.TabularInline):
    model = Domain
    formset = DomainFormSet
    extra = 0
    fields = ("name", "target_share", "safety_critical")


class MembershipForm(forms.ModelForm):
    """A member is added by typing their exact username or email: the admin never lists
    every account for a lead to pick from. Leads cannot add staff accounts (staff see every
    project already)."""

    account = AccountField()
    # Set by MembershipAdmin.get_form / MembershipInline.get_formset for the request.
    staff_request = False

    class Meta:
        model = Membership
        fields = ("account", "project", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("account", self.instance.user.get_username())

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("account")
        if user is None:
            return cleaned
        if (user.is_staff or user.is_superuser) and not self.staff_request:
            self.add_error("account", "This is a staff account; staff see every project already.")
            return cleaned
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        if project is not None and project.pk is not None:
            taken = Membership.objects.filter(user=user, project=project)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error("account", f"{user} is already a member of this project.")
        return cleaned

    def save(self, commit=True):
        self.instance.user = self.cleaned_data["account"]
        return super().save(commit=commit)


def _for_request(form_class: type[MembershipForm], request) -> type[MembershipForm]:
    return type(form_class.__name__, (form_class,), {"staff_request": is_staff(request)})


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    fields = ("account", "role")
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _for_request(self.form, request)
        return super().get_formset(request, obj, **kwargs)


@admin.register(Project)
class ProjectAdmin(LeadScopedAdmin):
    project_path = "pk"
    lead_can_add = (
        False  # a lead cannot make themselves lead of a new project; staff create projects
    )
    list_display = (
        "name",
        "slug",
        "status",
        "likert_quorum",
        "pairwise_quorum",
        "n_prompts",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [CriterionInline, DomainInline, MembershipInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "guidelines")}),
        (
            "Quorum and task mix",
            {"fields": ("likert_quorum", "pairwise_quorum", "pairwise_weight", "lease_seconds")},
        ),
        (
            "Aggregation and releases",
            {
                "fields": (
                    "blend_alpha",
                    "agreement_target",
                    "tie_tolerance",
                    "test_fraction",
                    "seed",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(prompt_count=Count("prompts", distinct=True))

    @admin.display(description="prompts", ordering="prompt_count")
    def n_prompts(self, obj) -> int:
        return obj.prompt_count


@admin.register(Membership)
class MembershipAdmin(LeadScopedAdmin):
    form = MembershipForm
    fields = ("account", "project", "role")
    lead_can_delete = True
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", PROJECT_FILTER)
    search_fields = ("user__username", "user__email", "project__slug")
    list_select_related = ("user", "project")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = _for_request(self.form, request)
        return super().get_form(request, obj, **kwargs)
