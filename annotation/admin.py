"""The Django admin, as a lead's working tool.

Staff can do everything. A project lead who is not staff may still use the admin, scoped to
the projects they lead: they see and edit those projects' criteria, domains, prompts,
responses and members, and read (never edit or delete) judgments. Criteria and domains are
validated exactly like ``project_apply`` (weights and shares sum to 1).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from .models import (
    Annotator,
    Criterion,
    Domain,
    ImportBatch,
    LikertJudgment,
    Membership,
    PairwiseJudgment,
    Project,
    Prompt,
    Response,
)
from .services.projects import criteria_problems, domain_problems


def led_project_ids(request) -> list[int]:
    cache = getattr(request, "_led_project_ids", None)
    if cache is None:
        cache = list(
            Membership.objects.filter(user=request.user, role=Membership.Role.LEAD).values_list(
                "project_id", flat=True
            )
        )
        request._led_project_ids = cache
    return cache


class LeadScopedAdmin(admin.ModelAdmin):
    """Staff see everything; leads see rows of the projects they lead."""

    project_path = "project"
    lead_can_change = True
    lead_can_add = True
    lead_can_delete = False

    def get_queryset(self, request) -> QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_staff:
            return qs
        return qs.filter(**{f"{self.project_path}__in": led_project_ids(request)})

    def _staff(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request) -> bool:
        return self._staff(request) or bool(led_project_ids(request))

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._staff(request) or (self.lead_can_change and bool(led_project_ids(request)))

    def has_add_permission(self, request) -> bool:
        return self._staff(request) or (self.lead_can_add and bool(led_project_ids(request)))

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._staff(request) or (self.lead_can_delete and bool(led_project_ids(request)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_staff and db_field.related_model is Project:
            kwargs["queryset"] = Project.objects.filter(pk__in=led_project_ids(request))
        if not request.user.is_staff and db_field.related_model is Domain:
            kwargs["queryset"] = Domain.objects.filter(project__in=led_project_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


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


@admin.register(Prompt)
class PromptAdmin(LeadScopedAdmin):
    list_display = (
        "external_id",
        "short_text",
        "project",
        "domain",
        "source",
        "cluster_link",
        "n_responses",
    )
    list_filter = ("project", "domain", "source", ("near_dup_cluster", admin.EmptyFieldListFilter))
    search_fields = ("external_id", "text", "content_hash")
    readonly_fields = ("content_hash", "near_dup_cluster", "import_batch", "created_at")
    list_select_related = ("project", "domain")
    raw_id_fields = ("import_batch",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(response_count=Count("responses"))

    @admin.display(description="text")
    def short_text(self, obj) -> str:
        return obj.text[:80]

    @admin.display(description="responses", ordering="response_count")
    def n_responses(self, obj) -> int:
        return obj.response_count

    @admin.display(description="near-dup cluster", ordering="near_dup_cluster")
    def cluster_link(self, obj):
        if obj.near_dup_cluster is None:
            return "-"
        url = (
            reverse("admin:annotation_prompt_changelist")
            + f"?near_dup_cluster={obj.near_dup_cluster}"
        )
        return format_html('<a href="{}">cluster {}</a>', url, obj.near_dup_cluster)


@admin.register(Response)
class ResponseAdmin(LeadScopedAdmin):
    list_display = ("external_id", "short_text", "prompt", "origin", "model_name")
    list_filter = ("project", "origin", "model_name")
    search_fields = ("external_id", "text", "prompt__external_id")
    raw_id_fields = ("prompt",)
    readonly_fields = ("content_hash", "created_at")
    list_select_related = ("prompt",)

    @admin.display(description="text")
    def short_text(self, obj) -> str:
        return obj.text[:80]


class JudgmentAdmin(LeadScopedAdmin):
    """Judgments are human work: readable by leads, never edited or deleted by them."""

    lead_can_change = False
    lead_can_add = False
    list_filter = ("source", "over_quorum", "created_at")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(LikertJudgment)
class LikertJudgmentAdmin(JudgmentAdmin):
    project_path = "response__project"
    list_display = ("id", "response", "annotator", "ratings", "source", "over_quorum", "created_at")
    search_fields = (
        "response__external_id",
        "annotator__external_id",
        "annotator__user__username",
        "comment",
    )
    list_select_related = ("response", "annotator__user")


@admin.register(PairwiseJudgment)
class PairwiseJudgmentAdmin(JudgmentAdmin):
    project_path = "prompt__project"
    list_display = ("id", "prompt", "left", "right", "choice", "annotator", "source", "created_at")
    list_filter = ("choice", *JudgmentAdmin.list_filter)
    search_fields = (
        "prompt__external_id",
        "annotator__external_id",
        "annotator__user__username",
        "comment",
    )
    list_select_related = ("prompt", "left", "right", "annotator__user")


@admin.register(Membership)
class MembershipAdmin(LeadScopedAdmin):
    lead_can_delete = True
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "user__email", "project__slug")


@admin.register(Annotator)
class AnnotatorAdmin(LeadScopedAdmin):
    lead_can_change = False
    lead_can_add = False
    list_display = ("__str__", "user", "project", "external_id", "created_at")
    search_fields = ("external_id", "user__username")
    list_filter = (("user", admin.EmptyFieldListFilter),)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_staff:
            return qs
        led = led_project_ids(request)
        return qs.filter(Q(project__in=led) | Q(user__memberships__project__in=led)).distinct()


@admin.register(ImportBatch)
class ImportBatchAdmin(LeadScopedAdmin):
    lead_can_change = False
    lead_can_add = False
    list_display = ("filename", "kind", "project", "created_by", "counts", "created_at")
    list_filter = ("kind", "project")
    search_fields = ("filename", "sha256")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
