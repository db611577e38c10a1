"""The scoring app's REST endpoints under /api/v1/ (DESIGN 7.3): aggregation runs.

Access goes through annotation.access: outsiders get 404, members whose role does not allow
the operation 403, anonymous callers 401. Runs are for leads and researchers; triggering a
run is for leads.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import access
from annotation.side_effects import task_enqueue_safely

from . import selectors, tasks
from .models import AggregationRun
from .services import RUN_NOT_QUEUED


class RunOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AggregationRun
        ref_name = "AggregationRun"
        fields = [
            "id", "status", "trigger", "config", "counts", "exclusions", "agreement", "tie_rule",
            "input_fingerprint", "code_version", "duration_ms", "error", "created_at", "finished_at",
        ]  # fmt: skip


class AggregationRunListApi(generics.ListAPIView):
    """The project's aggregation runs, newest first, with their agreement figures."""

    OutputSerializer = RunOutputSerializer

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[AggregationRun]:
        project = access.project_get_for(
            self.request.user, self.kwargs["slug"], roles=access.READ_RESULTS
        )
        return selectors.runs_for_project(project)


class AggregationRunDetailApi(APIView):
    OutputSerializer = RunOutputSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str, run_id: int) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
        run = selectors.runs_for_project(project).filter(pk=run_id).first()
        if run is None:
            raise Http404("No such run.")
        return Response(self.OutputSerializer(run).data)


class AggregationRunTriggerApi(APIView):
    """Queue an aggregation run of the project (leads). The run appears in the list once it
    starts; poll the list."""

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()
        runs_url = serializers.CharField()

        class Meta:
            ref_name = "AggregationRunQueued"

    @extend_schema(request=None, responses={202: OutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.MANAGE)
        if not task_enqueue_safely(tasks.aggregation_run, project.id, "api", project_id=project.id):
            return Response(
                {"detail": RUN_NOT_QUEUED},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "60"},
            )
        body = {
            "detail": "Aggregation run queued.",
            "runs_url": reverse("api:run_list", kwargs={"slug": project.slug}),
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
