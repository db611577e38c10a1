"""The REST API under /api/v1/ (DESIGN 7.3): one view per operation.

Access goes through annotation.access: outsiders get 404 (they must not learn that a project
exists), members whose role does not allow the operation 403, anonymous callers 401.
Results (projects, runs, releases, files) are for leads and researchers; creating releases,
triggering runs and importing items are for leads.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import access
from annotation.models import Project
from scoring.models import AggregationRun

from . import selectors
from .models import Release
from .services.build import ALL_FILES, release_enqueue, release_path, release_request

CONTENT_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
}


def _project_for_results(request: Request, slug: str) -> Project:
    return access.project_get_for(request.user, slug, roles=access.READ_RESULTS)


def _project_for_managing(request: Request, slug: str) -> Project:
    return access.project_get_for(request.user, slug, roles=access.MANAGE)


def _release_or_404(project: Project, ref: str) -> Release:
    release = selectors.release_get(project=project, ref=ref)
    if release is None:
        raise Http404("No such release.")
    return release


# ---------------------------------------------------------------------------------------
# Projects


class ProjectOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()
    criteria = serializers.SerializerMethodField()

    class Meta:
        model = Project
        ref_name = "Project"
        fields = [
            "slug", "name", "status", "role", "likert_quorum", "pairwise_quorum", "blend_alpha",
            "agreement_target", "test_fraction", "seed", "tie_tolerance", "criteria", "domains",
            "created_at",
        ]  # fmt: skip

    def get_role(self, obj: Project) -> str | None:
        return access.role_in(self.context["request"].user, obj)

    def get_domains(self, obj: Project) -> list[dict[str, Any]]:
        return [
            {"name": d.name, "target_share": d.target_share, "safety_critical": d.safety_critical}
            for d in obj.domains.all()
        ]

    def get_criteria(self, obj: Project) -> list[dict[str, Any]]:
        return [
            {
                "key": c.key,
                "label": c.label,
                "weight": c.weight,
                "scale_min": c.scale_min,
                "scale_max": c.scale_max,
                "level": c.level,
            }  # fmt: skip
            for c in obj.criteria.all()
        ]


class ProjectListApi(generics.ListAPIView):
    """Projects whose results you may read (you are a lead or researcher in them)."""

    OutputSerializer = ProjectOutputSerializer

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Project]:
        return (
            access.projects_with_role(self.request.user, access.READ_RESULTS)
            .prefetch_related("domains", "criteria")
            .order_by("slug")
        )


class ProjectDetailApi(APIView):
    OutputSerializer = ProjectOutputSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        project = _project_for_results(request, slug)
        return Response(self.OutputSerializer(project, context={"request": request}).data)


# ---------------------------------------------------------------------------------------
# Aggregation runs


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
        project = _project_for_results(self.request, self.kwargs["slug"])
        return selectors.runs_for_project(project=project)


class AggregationRunDetailApi(APIView):
    OutputSerializer = RunOutputSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str, run_id: int) -> Response:
        project = _project_for_results(request, slug)
        run = selectors.runs_for_project(project=project).filter(pk=run_id).first()
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
        project = _project_for_managing(request, slug)
        try:
            from scoring.tasks import aggregation_run
        except ImportError:  # the scoring app ships without its worker tasks
            raise exceptions.APIException("Aggregation is not available on this server.") from None

        aggregation_run.delay_on_commit(project.id, "api")
        body = {
            "detail": "Aggregation run queued.",
            "runs_url": reverse("exports-api:run_list", kwargs={"slug": project.slug}),
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


# ---------------------------------------------------------------------------------------
# Releases


class ReleaseOutputSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    label = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = Release
        ref_name = "Release"
        fields = [
            "id", "project", "label", "version", "status", "run", "seed", "test_fraction",
            "holdout_domains", "counts", "files", "error", "url", "created_at", "finished_at",
            "duration_ms",
        ]  # fmt: skip

    def get_url(self, obj: Release) -> str:
        ref = obj.label if obj.version else str(obj.pk)
        return reverse("exports-api:release_detail", kwargs={"slug": obj.project.slug, "ref": ref})

    @extend_schema_field(
        inline_serializer(
            "ReleaseFile",
            {
                "name": serializers.CharField(),
                "sha256": serializers.CharField(),
                "bytes": serializers.IntegerField(),
                "rows": serializers.IntegerField(allow_null=True),
                "url": serializers.CharField(),
            },
            many=True,
        )
    )
    def get_files(self, obj: Release) -> list[dict[str, Any]]:
        if not obj.is_ready:
            return []
        return [
            {
                "name": name,
                "sha256": meta["sha256"],
                "bytes": meta["bytes"],
                "rows": meta.get("rows"),
                "url": reverse(
                    "exports-api:release_file",
                    kwargs={"slug": obj.project.slug, "ref": obj.label, "name": name},
                ),
            }
            for name, meta in sorted(obj.files.items())
        ]


class ReleaseListApi(generics.ListAPIView):
    """The project's releases, newest first. Only ``ready`` releases have a version and files;
    ``?status=ready`` lists only those."""

    OutputSerializer = ReleaseOutputSerializer

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[s.value for s in Release.Status], required=False)
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Release]:
        project = _project_for_results(self.request, self.kwargs["slug"])
        wanted = self.request.query_params.get("status") or None
        if wanted is not None and wanted not in Release.Status.values:
            raise serializers.ValidationError(
                {"status": f"one of {', '.join(Release.Status.values)}"}
            )
        return selectors.releases_for_project(project=project, status=wanted)


class ReleaseDetailApi(APIView):
    """One release, by version (``v3``) or by id (``17``, for one still building)."""

    OutputSerializer = ReleaseOutputSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, slug: str, ref: str) -> Response:
        project = _project_for_results(request, slug)
        return Response(self.OutputSerializer(_release_or_404(project, ref)).data)


class ReleaseCreateApi(APIView):
    """Request a release (leads): it is built by the `exports` worker and gets the next
    version when complete. Answers 202 with the pending release; poll its ``url``."""

    class InputSerializer(serializers.Serializer):
        run = serializers.IntegerField(
            required=False, help_text="Aggregation run id; default: the latest finished run."
        )
        seed = serializers.IntegerField(
            required=False, help_text="Split seed; default: the project's seed."
        )
        holdout_domains = serializers.ListField(
            child=serializers.CharField(), required=False, default=list
        )
        test_fraction = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

        class Meta:
            ref_name = "ReleaseRequest"

    OutputSerializer = ReleaseOutputSerializer

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        project = _project_for_managing(request, slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        run = None
        if "run" in params:
            run = selectors.runs_for_project(project=project).filter(pk=params.pop("run")).first()
            if run is None:
                raise serializers.ValidationError(
                    {"run": "no such aggregation run in this project"}
                )
        release = release_request(project=project, user=request.user, run=run, **params)
        release_enqueue(release=release)
        body = self.OutputSerializer(release).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


class ReleaseFileDownloadApi(APIView):
    """One file of a ready release, streamed. ETag is the file's sha256 (quoted); send it
    back in If-None-Match to get 304 Not Modified."""

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file."
            ),
            304: OpenApiResponse(description="Not modified: the ETag matched If-None-Match."),
        },
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(ALL_FILES))],
    )
    def get(self, request: Request, slug: str, ref: str, name: str) -> HttpResponse:
        project = _project_for_results(request, slug)
        release = _release_or_404(project, ref)
        meta = release.files.get(name) if release.is_ready else None
        if meta is None:
            raise Http404("No such file in this release.")
        etag = f'"{meta["sha256"]}"'
        header = request.headers.get("If-None-Match")
        if header and _etag_matches(header, etag):
            response = HttpResponseNotModified()
            response["ETag"] = etag
            return response
        path = release_path(release) / name
        suffix = path.suffix
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"{project.slug}-{release.label}-{name}",
            content_type=CONTENT_TYPES.get(suffix)
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
        )
        response["ETag"] = etag
        response["Content-Length"] = str(meta["bytes"])
        response["Cache-Control"] = "private, max-age=31536000, immutable"
        return response


# ---------------------------------------------------------------------------------------
# Imports


class ItemsImportApi(APIView):
    """Import prompts and responses from a JSONL or CSV file (leads). All or nothing: any
    problem gives 400 with every problem and its line; nothing is written."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        on_duplicate = serializers.ChoiceField(
            choices=["reject", "merge", "keep"], default="reject"
        )

        class Meta:
            ref_name = "ItemsUpload"

    class OutputSerializer(serializers.Serializer):
        batch_id = serializers.IntegerField(allow_null=True)
        created = serializers.DictField(child=serializers.IntegerField())
        unchanged = serializers.DictField(child=serializers.IntegerField())
        merged = serializers.DictField(child=serializers.IntegerField())
        near_duplicate_clusters = serializers.IntegerField()

        class Meta:
            ref_name = "ItemsImported"

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: OutputSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        project = _project_for_managing(request, slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        from annotation.services.imports import items_import

        upload = data.validated_data["file"]
        result = items_import(
            project=project,
            source=upload,
            filename=upload.name,
            user=request.user,
            on_duplicate=data.validated_data["on_duplicate"],
        )
        return Response(
            self.OutputSerializer(result.as_dict()).data, status=status.HTTP_201_CREATED
        )
