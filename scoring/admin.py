"""Aggregation runs and their scores: immutable, so the admin only shows them. A lead sees
those of the projects they lead (annotation.admin.LeadScopedAdmin)."""

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet

from annotation.admin import LeadScopedAdmin
from annotation.admin.scoping import PROJECT_FILTER, is_staff, led_project_ids

from .backends import directory_revision
from .models import AggregationRun, ResponseScore, Scorer, ScoringRun
from .scorers import MODEL_BACKENDS, SCORER_FIELDS, backend_problems


class ReadOnlyAdmin(LeadScopedAdmin):
    lead_can_change = False
    lead_can_add = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AggregationRun)
class AggregationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "project",
        "status",
        "trigger",
        "created_at",
        "duration_ms",
        "code_version",
    )
    list_filter = ("status", "trigger", PROJECT_FILTER)
    # The judgment ids a run read are packed arrays (up to ~90 KB): useless as escaped bytes.
    exclude = ("likert_ids", "pairwise_ids")

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f not in self.exclude]


@admin.register(ResponseScore)
class ResponseScoreAdmin(ReadOnlyAdmin):
    project_path = "run__project"
    list_display = (
        "id",
        "run",
        "response",
        "final",
        "final_source",
        "rank",
        "n_likert",
        "n_pairwise",
    )
    list_filter = ("final_source",)
    list_select_related = ("run", "response")


class ScorerForm(forms.ModelForm):
    """The checks of scorer_apply (scoring.scorers.backend_problems), each on its field."""

    class Meta:
        model = Scorer
        fields = list(SCORER_FIELDS)

    def __init__(self, *args, lead_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_only = lead_only

    def _post_clean(self):
        super()._post_clean()  # the model's own validation, on the instance
        if self.lead_only and not self.cleaned_data.get("project"):
            self.add_error("project", "Choose the project you lead that uses this scorer.")
        if self.lead_only and self.cleaned_data.get("backend") in MODEL_BACKENDS:
            # A model directory is a path on the workers' disks, read and hashed whole: only
            # staff, who manage those hosts, point scorers at one.
            self.add_error(
                "backend",
                "Only staff register scorers that read a model directory; ask an administrator "
                "(or use a builtin or external scorer).",
            )
        if self.errors:
            return
        for problem in backend_problems(self.instance):
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)


@admin.register(Scorer)
class ScorerAdmin(LeadScopedAdmin):
    """Staff manage every scorer; a lead sees the shared ones and manages their projects'."""

    form = ScorerForm
    list_display = ("name", "kind", "backend", "metric", "project", "short_revision", "updated_at")
    list_filter = ("kind", "backend")
    search_fields = ("name", "description")
    readonly_fields = ("revision", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "backend", "metric", "project", "higher_is_better")}),
        ("Model", {"fields": ("model_path", "revision", "dtype", "max_length", "batch_tokens")}),
        ("Formatting", {"fields": ("template", "system_prompt", "bos")}),
        ("About", {"fields": ("description", "licence", "created_at", "updated_at")}),
    )

    @admin.display(description="revision")
    def short_revision(self, obj: Scorer) -> str:
        return obj.revision[:12]

    def get_queryset(self, request) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        if is_staff(request):
            return qs
        return qs.filter(Q(project__in=led_project_ids(request)) | Q(project__isnull=True))

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not is_staff(request):
            return obj.project_id in led_project_ids(request)
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        lead_only = not is_staff(request)

        class ScopedForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, lead_only=lead_only, **kw)

        return ScopedForm

    def save_model(self, request, obj: Scorer, form, change) -> None:
        obj.revision = directory_revision(obj.model_path) if obj.backend in MODEL_BACKENDS else ""
        super().save_model(request, obj, form, change)


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "project",
        "scorer",
        "status",
        "scored",
        "total",
        "tokens_per_s",
        "device",
        "created_at",
    )
    list_filter = ("status", "trigger", PROJECT_FILTER)
    list_select_related = ("project", "scorer")
