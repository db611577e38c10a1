"""Judgments, annotators and import batches: human work and its records, read-only for leads."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from ..models import Annotator, ImportBatch, LikertJudgment, PairwiseJudgment
from .scoping import PROJECT_FILTER, LeadScopedAdmin, is_staff, led_project_ids


class JudgmentAdmin(LeadScopedAdmin):
    """Judgments are human work: readable by leads, never edited or deleted by them."""

    lead_can_change = False
    lead_can_add = False
    list_filter = ("source", "over_quorum", "created_at")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        # Every field is read-only: the add form would save an empty row (a 500 on its NOT
        # NULL columns). Judgments come from the annotator pages and imports.
        return False


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


@admin.register(Annotator)
class AnnotatorAdmin(LeadScopedAdmin):
    lead_can_change = False
    lead_can_add = False
    list_display = ("__str__", "user", "project", "external_id", "created_at")
    search_fields = ("external_id", "user__username")
    list_filter = (("user", admin.EmptyFieldListFilter),)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if is_staff(request):
            return qs
        led = led_project_ids(request)
        return qs.filter(Q(project__in=led) | Q(user__memberships__project__in=led)).distinct()


@admin.register(ImportBatch)
class ImportBatchAdmin(LeadScopedAdmin):
    lead_can_change = False
    lead_can_add = False
    list_display = ("filename", "kind", "project", "created_by", "counts", "created_at")
    list_filter = ("kind", PROJECT_FILTER)
    search_fields = ("filename", "sha256")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # as for judgments: every field is read-only; batches come from imports
