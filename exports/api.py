"""The exports app's REST endpoints under /api/v1/ (DESIGN 7.3): releases and their files.

Access goes through annotation.access: outsiders get 404 (they must not learn that a project
exists), members whose role does not allow the operation 403, anonymous callers 401.
Releases and their files are for leads and researchers; requesting a release is for leads.
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
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import access
from annotation.api_errors import ErrorSerializer
from annotation.models import Project
from scoring.selectors import runs_for_project

from . import selectors
from .models import Release
from .services.build import (
    ALL_FILES,
    SCORES_FILES,
    release_enqueue,
    release_path,
    release_request,
)

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


class ReleaseOutputSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    label = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    scorers = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="The scorers the release carries: {scorer name: pinned scoring run id}.",
    )

    class Meta:
        model = Release
        ref_name = "Release"
        fields = [
            "id", "project", "label", "version", "status", "run", "seed", "test_fraction",
            "holdout_domains", "scorers", "counts", "files", "error", "url", "created_at",
            "finished_at", "duration_ms",
        ]  # fmt: skip

    def get_url(self, obj: Release) -> str:
        ref = obj.label if obj.version else str(obj.pk)
        return reverse("api:release_detail", kwargs={"slug": obj.project.slug, "ref": ref})

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
                    "api:release_file",
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
        scorers = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            default=list,
            max_length=50,
            help_text="Scorer names: the release carries their scores (scores.parquet) and "
            "meta-evaluations (metaeval.json). Each needs a finished scoring run over the "
            "project's responses; its latest is pinned now. Default: none.",
        )

        class Meta:
            ref_name = "ReleaseRequest"

    OutputSerializer = ReleaseOutputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="No finished aggregation run with scores to release."
            ),
            503: OpenApiResponse(
                OutputSerializer,
                description="The build could not be queued: the release, recorded as failed, "
                "with the reason in ``detail``.",
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = _project_for_managing(request, slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        run = None
        if "run" in params:
            run = runs_for_project(project).filter(pk=params.pop("run")).first()
            if run is None:
                raise serializers.ValidationError(
                    {"run": "no such aggregation run in this project"}
                )
        release = release_request(project=project, user=request.user, run=run, **params)
        queued = release_enqueue(release=release)
        body = self.OutputSerializer(release).data
        if not queued:  # the release is recorded as failed, with the reason in its error
            body["detail"] = release.error
            return Response(
                body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"}
            )
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
            **{
                (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
                for content_type in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})
                if content_type != "application/json"
            },
            # manifest.json and metaeval.json: a JSON client reads them as the objects they are.
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The file (manifest.json, metaeval.json)."
            ),
            304: OpenApiResponse(description="Not modified: the ETag matched If-None-Match."),
        },
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=[*ALL_FILES, *SCORES_FILES])
        ],
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
