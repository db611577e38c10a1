"""Gold items, excluded annotators, and pausing members (DESIGN 4.5), scoped like the rest
of the admin: a lead sees and changes only the projects they lead. Every change goes
through the services, so the admin validates exactly like the lead's pages and imports."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from ..errors import DomainError
from ..models import AnnotatorExclusion, GoldItem
from ..services.assignments import annotator_for_user
from ..services.quality import (
    annotator_exclude,
    annotator_judges_in,
    annotator_pause,
    annotator_resume,
    gold_check,
    gold_mark,
    gold_unmark,
)
from .scoping import PROJECT_FILTER, LeadScopedAdmin


class GoldItemForm(forms.ModelForm):
    expected_choice = forms.ChoiceField(
        choices=[("", "---------"), *GoldItem.Choice.choices],
        required=False,
        help_text="For a pair: the expected winner of response A (first) against B.",
    )

    class Meta:
        model = GoldItem
        fields = (
            "response_a",
            "response_b",
            "expected_ratings",
            "tolerance",
            "expected_choice",
            "explanation",
        )
        labels = {"response_a": "Response (A)", "response_b": "Response B (pairs only)"}
        help_texts = {
            "expected_ratings": "A single response: the expected point per criterion, e.g. "
            '{"usefulness": 4, "factuality": 5, "safety": 5, "alignment": 4}.',
            "tolerance": "A rating within this many points of the expected one is correct.",
        }

    def clean(self):
        data = super().clean()
        response = data.get("response_a") or getattr(self.instance, "response_a", None)
        if self.errors or response is None:
            return data
        try:
            self.gold_fields = gold_check(
                project=response.project,
                response=response,
                response_b=data.get("response_b") or self.instance.response_b,
                expected_ratings=data.get("expected_ratings") or None,
                expected_choice=data.get("expected_choice") or "",
                tolerance=data.get("tolerance", 1),
                explanation=data.get("explanation", ""),
            )
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(GoldItem)
class GoldItemAdmin(LeadScopedAdmin):
    form = GoldItemForm
    lead_can_delete = True
    list_display = ("__str__", "project", "kind", "tolerance", "expected_choice", "created_at")
    list_filter = ("kind", PROJECT_FILTER)
    search_fields = ("response_a__external_id", "prompt__external_id", "explanation")
    autocomplete_fields = ("response_a", "response_b")
    list_select_related = ("project",)

    def get_readonly_fields(self, request, obj=None):
        # The item's responses are its identity: mark another item instead.
        return ("response_a", "response_b") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        response = form.cleaned_data.get("response_a") or obj.response_a
        gold = gold_mark(
            project=response.project,
            response=response,
            response_b=form.cleaned_data.get("response_b") or obj.response_b,
            expected_ratings=form.cleaned_data.get("expected_ratings") or None,
            expected_choice=form.cleaned_data.get("expected_choice") or "",
            tolerance=form.cleaned_data.get("tolerance", 1),
            explanation=form.cleaned_data.get("explanation", ""),
            by=request.user,
        )
        obj.pk = gold.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        gold_unmark(gold=obj)

    def delete_queryset(self, request, queryset):
        for gold in queryset:
            gold_unmark(gold=gold)


class ExclusionForm(forms.ModelForm):
    class Meta:
        model = AnnotatorExclusion
        fields = ("project", "annotator", "reason")

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("project") or not data.get("annotator"):
            return data
        if not annotator_judges_in(data["project"], data["annotator"]):
            raise forms.ValidationError(
                "This annotator has no membership or judgments in this project."
            )
        return data


@admin.register(AnnotatorExclusion)
class AnnotatorExclusionAdmin(LeadScopedAdmin):
    """Adding a row excludes the annotator's judgments from the next runs; deleting it
    includes them again. Judgments themselves are never touched."""

    form = ExclusionForm
    lead_can_delete = True
    list_display = ("annotator", "project", "reason", "created_by", "created_at")
    list_filter = (PROJECT_FILTER,)
    list_select_related = ("annotator__user", "project", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return ("project", "annotator") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["reason"])
            return
        exclusion = annotator_exclude(
            project=obj.project, annotator=obj.annotator, reason=obj.reason, by=request.user
        )
        obj.pk = exclusion.pk


def _members_action(modeladmin, request, queryset, service, done: str) -> None:
    n = 0
    for membership in queryset.select_related("project", "user"):
        service(project=membership.project, annotator=annotator_for_user(user=membership.user))
        n += 1
    modeladmin.message_user(request, done.format(n=n), messages.SUCCESS)


@admin.action(description="Pause the selected members (no new tasks)")
def pause_members(modeladmin, request, queryset) -> None:
    _members_action(modeladmin, request, queryset, annotator_pause, "Paused {n} member(s).")


@admin.action(description="Resume the selected members")
def resume_members(modeladmin, request, queryset) -> None:
    _members_action(modeladmin, request, queryset, annotator_resume, "Resumed {n} member(s).")
