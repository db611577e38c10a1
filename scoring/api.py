"""The scoring app's REST endpoints under /api/v1/ (DESIGN 6.5 and 7.3): aggregation runs,
scorers and scoring runs.

Access goes through annotation.access: outsiders get 404, members whose role does not allow
the operation 403, anonymous callers 401. Runs, scorers and scoring runs are for leads and
researchers; triggering an aggregation run and starting a scoring run are for leads.
"""

from __future__ import annotations

import logging

from django.db.models import Q, QuerySet
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
from .models import AggregationRun, Scorer, ScoringRun
from .scoring_runs import (
    scorer_check_queueable,
    scorer_for_project,
    scoring_run_enqueue,
    scoring_run_start,
)
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


logger = logging.getLogger(__name__)


class ScorerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scorer
        ref_name = "Scorer"
        fields = [
            "id", "name", "kind", "backend", "metric", "revision", "dtype", "max_length",
            "batch_tokens", "higher_is_better", "description", "licence",
        ]  # fmt: skip


class ScoringRunOutputSerializer(serializers.ModelSerializer):
    scorer = serializers.CharField(source="scorer.name")

    class Meta:
        model = ScoringRun
        ref_name = "ScoringRun"
        fields = [
            "id", "scorer", "scorer_revision", "release_version", "status", "trigger", "total",
            "scored", "tokens", "truncated", "tokens_per_s", "compute_seconds", "device", "dtype",
            "versions", "code_version", "error", "created_at", "started_at", "finished_at",
        ]  # fmt: skip


def _runs(project) -> QuerySet[ScoringRun]:
    return ScoringRun.objects.filter(project=project).select_related("scorer").order_by("-id")


class ScorerListApi(generics.ListAPIView):
    """The scorers the project may use: its own and the shared ones."""

    serializer_class = ScorerOutputSerializer

    def get_queryset(self) -> QuerySet[Scorer]:
        project = access.project_get_for(
            self.request.user, self.kwargs["slug"], roles=access.READ_RESULTS
        )
        return Scorer.objects.filter(Q(project=project) | Q(project__isnull=True)).order_by("name")


class ScoringRunListApi(generics.ListAPIView):
    """GET: the project's scoring runs, newest first. POST (leads): start a run of a scorer
    over the project's responses (or one release's); an unfinished run of the same scorer
    revision is resumed. 202 with the run; poll its detail for progress."""

    serializer_class = ScoringRunOutputSerializer

    class InputSerializer(serializers.Serializer):
        scorer = serializers.CharField()
        release = serializers.IntegerField(required=False, min_value=1)

        class Meta:
            ref_name = "ScoringRunStart"

    def get_queryset(self) -> QuerySet[ScoringRun]:
        project = access.project_get_for(
            self.request.user, self.kwargs["slug"], roles=access.READ_RESULTS
        )
        return _runs(project)

    @extend_schema(request=InputSerializer, responses={202: ScoringRunOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.MANAGE)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        scorer = scorer_for_project(project=project, name=given.validated_data["scorer"])
        scorer_check_queueable(scorer)
        run, _ = scoring_run_start(
            project=project,
            scorer=scorer,
            release_version=given.validated_data.get("release"),
            trigger=ScoringRun.Trigger.API,
        )
        if run.status != ScoringRun.Status.DONE:
            try:
                scoring_run_enqueue(run)
            except Exception as exc:  # whatever the broker client raises
                logger.warning("scoring run %s: chunks not queued: %s", run.pk, exc)
                ScoringRun.objects.filter(pk=run.pk).update(
                    error=f"chunks not queued ({type(exc).__name__}); start the run again"
                )
                return Response(
                    {"detail": "The scoring queue is unreachable; start the run again later."},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                )
        run.refresh_from_db()
        return Response(ScoringRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ScoringRunDetailApi(generics.RetrieveAPIView):
    serializer_class = ScoringRunOutputSerializer

    def get_object(self) -> ScoringRun:
        project = access.project_get_for(
            self.request.user, self.kwargs["slug"], roles=access.READ_RESULTS
        )
        run = _runs(project).filter(pk=self.kwargs["run_id"]).first()
        if run is None:
            raise Http404("No such scoring run.")
        return run
