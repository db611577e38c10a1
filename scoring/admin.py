from django.contrib import admin

from .models import AggregationRun, ResponseScore


@admin.register(AggregationRun)
class AggregationRunAdmin(admin.ModelAdmin):
    """Runs are immutable: the admin shows them and lets nobody edit them."""

    list_display = (
        "id",
        "project",
        "status",
        "trigger",
        "created_at",
        "duration_ms",
        "code_version",
    )
    list_filter = ("status", "trigger", "project")
    readonly_fields = [f.name for f in AggregationRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ResponseScore)
class ResponseScoreAdmin(admin.ModelAdmin):
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
    raw_id_fields = ("run", "response")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
