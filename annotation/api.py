"""The annotation app's REST endpoints under /api/v1/ (DESIGN 7.3): projects and item imports.

Access goes through annotation.access: outsiders get 404 (they must not learn that a project
exists), members whose role does not allow the operation 403, anonymous callers 401.
Projects are listed for leads and researchers; importing items is for leads.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import access
from .api_errors import ErrorSerializer
from .import_uploads import upload_prepare, upload_refused
from .models import ImportBatch, Project
from .services.imports import (
    ImportTooLarge,
    import_job_start,
    import_job_summary,
    import_runs_in_background,
    items_import,
)

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
            "pairwise_method", "agreement_target", "test_fraction", "seed", "tie_tolerance",
            "criteria", "domains", "created_at",
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
        project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
        return Response(self.OutputSerializer(project, context={"request": request}).data)


# ---------------------------------------------------------------------------------------
# Imports


class ImportOutputSerializer(serializers.Serializer):
    """A background import: its status, progress, problems (when it failed) and result
    (when done)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ImportBatch.Kind.choices)
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportBatch.Status.choices)
    progress = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    error = serializers.CharField(allow_blank=True)
    problems = serializers.ListField(child=serializers.DictField())
    result = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Import"


class ItemsImportApi(APIView):
    """Import prompts and responses from a JSONL or CSV file (leads). All or nothing: any
    problem gives 400 with every problem and its line; nothing is written. A file over the
    import limit gets 413 before its body is read. A file of more than
    TRENCHCOAT_IMPORT_BACKGROUND_LINES lines is imported by a worker: 202, with the import's
    status endpoint in Location."""

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

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # First, before authentication (a session's CSRF check reads the body): refuse an
        # over-limit body unread, and stream the file to disk within the limit.
        refusal = upload_prepare(request._request)
        if refusal:
            raise ImportTooLarge(refusal)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OutputSerializer,
            202: ImportOutputSerializer,
            413: OpenApiResponse(ErrorSerializer, description="The file is over the import limit."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.MANAGE)
        data = self.InputSerializer(data=request.data)
        refusal = upload_refused(request._request)
        if refusal:
            raise ImportTooLarge(refusal)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if import_runs_in_background(upload):
            batch = import_job_start(
                project=project,
                kind=ImportBatch.Kind.ITEMS,
                upload=upload,
                user=request.user,
                on_duplicate=data.validated_data["on_duplicate"],
            )
            response = Response(
                ImportOutputSerializer(import_job_summary(batch)).data,
                status=status.HTTP_202_ACCEPTED,
            )
            response["Location"] = request.build_absolute_uri(
                reverse("api:import_detail", kwargs={"slug": slug, "batch_id": batch.pk})
            )
            return response
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


class ImportDetailApi(APIView):
    """An import of this project (leads): status (queued, checking, writing, done, failed),
    progress in lines, the problems of a failed import, the counts of a finished one."""

    @extend_schema(responses={200: ImportOutputSerializer})
    def get(self, request: Request, slug: str, batch_id: int) -> Response:
        project = access.project_get_for(request.user, slug, roles=access.MANAGE)
        batch = get_object_or_404(ImportBatch, project=project, pk=batch_id)
        return Response(ImportOutputSerializer(import_job_summary(batch)).data)
