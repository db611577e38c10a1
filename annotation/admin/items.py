"""Prompts and responses. A response's prompt is chosen by autocomplete over the prompts the
user may see; the choice, the rendered selection and the filters are all scoped."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from ..models import Prompt, Response
from .scoping import DOMAIN_FILTER, PROJECT_FILTER, LeadScopedAdmin


class PromptForm(forms.ModelForm):
    class Meta:
        model = Prompt
        fields = ("project", "domain", "text", "source", "external_id", "provenance")

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        domain = cleaned.get("domain")
        if project is not None and domain is not None and domain.project_id != project.pk:
            self.add_error("domain", "Choose a domain of the prompt's own project.")
        return cleaned


@admin.register(Prompt)
class PromptAdmin(LeadScopedAdmin):
    form = PromptForm
    list_display = (
        "external_id",
        "short_text",
        "project",
        "domain",
        "source",
        "cluster_link",
        "n_responses",
    )
    list_filter = (
        PROJECT_FILTER,
        DOMAIN_FILTER,
        "source",
        ("near_dup_cluster", admin.EmptyFieldListFilter),
    )
    search_fields = ("external_id", "text", "content_hash")
    # Explicit: Meta.ordering is dropped from the grouped (counted) queryset.
    ordering = ("project", "id")
    readonly_fields = ("content_hash", "near_dup_cluster", "import_batch", "created_at")
    list_select_related = ("project", "domain")

    def get_readonly_fields(self, request, obj=None):
        # A prompt stays in its project: its responses and judgments are that project's.
        fields = super().get_readonly_fields(request, obj)
        return ("project", *fields) if obj is not None else fields

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
    list_filter = (PROJECT_FILTER, "origin", "model_name")
    search_fields = ("external_id", "text", "prompt__external_id")
    autocomplete_fields = ("prompt",)
    readonly_fields = ("content_hash", "created_at")
    list_select_related = ("prompt",)

    def get_readonly_fields(self, request, obj=None):
        # Judgments were made of this response for this prompt: neither moves afterwards.
        fields = super().get_readonly_fields(request, obj)
        return ("project", "prompt", *fields) if obj is not None else fields

    @admin.display(description="text")
    def short_text(self, obj) -> str:
        return obj.text[:80]
