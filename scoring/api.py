"""The scoring app's REST endpoints under /api/v1/ (DESIGN 6.5 and 7.3): aggregation runs,
scorers and scoring runs.

The leaderboard and each scorer's meta-evaluation figures (scoring/leaderboard.py) are for
leads and researchers too.

Access goes through annotation.access: outsiders get 404, members whose role does not allow
the operation 403, anonymous callers 401. Runs, scorers and scoring runs are for leads and
researchers; triggering an aggregation run and starting a scoring run are for leads.
"""

from __future__ import annotations

import logging

from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import access
from annotation.api_errors import ErrorSerializer
from annotation.side_effects import task_enqueue_safely

from . import selectors, tasks
from .leaderboard import leaderboard, leaderboard_row
from .models import AggregationRun, Scorer, ScoringRun
from .probe_runs import probe_run_requeue, probes_wanted
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
            "model_ranking", "input_fingerprint", "code_version", "duration_ms", "error",
            "created_at", "finished_at",
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

    @extend_schema(
        request=None,
        responses={
            202: OutputSerializer,
            503: OpenApiResponse(ErrorSerializer, description="The task queue is unreachable."),
        },
    )
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

    @extend_schema(
        request=InputSerializer,
        responses={
            202: ScoringRunOutputSerializer,
            503: OpenApiResponse(ErrorSerializer, description="The scoring queue is unreachable."),
        },
    )
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
        if run.status == ScoringRun.Status.DONE and probes_wanted(run):
            probe_run_requeue(run)  # a run made before probes existed, or failed probes
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


class _FiguresField(serializers.JSONField):
    """A figures document (layout: scoring/metaevaluations.py)."""


class LeaderboardRowSerializer(serializers.Serializer):
    scorer = serializers.CharField(source="scorer.name")
    kind = serializers.CharField(source="scorer.kind")
    state = serializers.CharField(
        help_text="ready, no_run, queued, running, failed, "
        "no_aggregation, pending or metaeval_failed"
    )
    detail = serializers.CharField(source="state_text")
    scoring_run = serializers.IntegerField(source="finished.pk", allow_null=True, default=None)
    latest_run = ScoringRunOutputSerializer(source="run", allow_null=True)
    pairs = serializers.CharField(source="headline.pairs", allow_null=True, default=None)
    headline = _FiguresField(
        help_text="accuracy, acc_eq, tau_prompt, ece, prefers_longer, "
        "humans_prefer_longer, probe_sensitivity: each an Estimate"
    )

    class Meta:
        ref_name = "LeaderboardRow"


class LeaderboardApi(generics.GenericAPIView):
    """The scorer leaderboard (DESIGN 6.5): per scorer the project may use, its latest
    finished scoring run measured against the project's latest finished aggregation run,
    sorted by ``?sort=`` (accuracy, acc_eq, tau, ece, length, probes: best first; a leading
    "-" reverses), with the human noise ceiling. Scorers without figures say why (``state``)
    and come last."""

    serializer_class = LeaderboardRowSerializer

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        sort = serializers.CharField()
        aggregation_run = serializers.IntegerField(allow_null=True)
        noise_ceiling = _FiguresField(allow_null=True)
        results = LeaderboardRowSerializer(many=True)

        class Meta:
            ref_name = "Leaderboard"

    @extend_schema(
        parameters=[OpenApiParameter("sort", str, description="a column, '-' to reverse")],
        responses=OutputSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
        board = leaderboard(project, sort=request.query_params.get("sort"))
        page = self.paginate_queryset(board.rows)
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["sort"] = board.sort
        response.data["aggregation_run"] = (
            board.aggregation_run.pk if board.aggregation_run else None
        )
        response.data["noise_ceiling"] = board.ceiling.figures if board.ceiling else None
        return response


class ScorerMetaevalApi(APIView):
    """Every figure of one scorer's latest meta-evaluation (its latest finished scoring run
    against the project's latest finished aggregation run). 404 with the reason when there
    is none yet."""

    class OutputSerializer(serializers.Serializer):
        scorer = serializers.CharField(source="scoring_run.scorer.name")
        scoring_run = serializers.IntegerField(source="scoring_run_id")
        aggregation_run = serializers.IntegerField(source="aggregation_run_id")
        status = serializers.CharField()
        figures = _FiguresField()
        config = serializers.JSONField()
        counts = serializers.JSONField()
        code_version = serializers.CharField()
        error = serializers.CharField()
        duration_ms = serializers.IntegerField(allow_null=True)
        updated_at = serializers.DateTimeField()

        class Meta:
            ref_name = "MetaEvaluation"

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str, name: str) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
        _, row = leaderboard_row(project, name)
        if row.metaeval is None:
            raise Http404(f"No meta-evaluation of '{name}' yet: {row.state_text}")
        return Response(self.OutputSerializer(row.metaeval).data)
