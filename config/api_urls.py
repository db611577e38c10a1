"""Routes of the REST API under /api/v1/: each app serves its own endpoints from its api.py.

One namespace, ``api``, for every endpoint: ``reverse("api:release_detail", ...)``.
"""

from django.urls import path

from annotation import api as annotation_api
from exports import api as exports_api
from scoring import api as scoring_api

app_name = "api"

urlpatterns = [
    # annotation: projects and item imports
    path("projects/", annotation_api.ProjectListApi.as_view(), name="project_list"),
    path("projects/<slug:slug>/", annotation_api.ProjectDetailApi.as_view(), name="project_detail"),
    path(
        "projects/<slug:slug>/items/import/",
        annotation_api.ItemsImportApi.as_view(),
        name="items_import",
    ),
    path(
        "projects/<slug:slug>/imports/<int:batch_id>/",
        annotation_api.ImportDetailApi.as_view(),
        name="import_detail",
    ),
    # scoring: aggregation runs
    path(
        "projects/<slug:slug>/runs/", scoring_api.AggregationRunListApi.as_view(), name="run_list"
    ),
    path(
        "projects/<slug:slug>/runs/trigger/",
        scoring_api.AggregationRunTriggerApi.as_view(),
        name="run_trigger",
    ),
    path(
        "projects/<slug:slug>/runs/<int:run_id>/",
        scoring_api.AggregationRunDetailApi.as_view(),
        name="run_detail",
    ),
    # scoring: scorers and scoring runs (DESIGN 6.5)
    path(
        "projects/<slug:slug>/scorers/",
        scoring_api.ScorerListApi.as_view(),
        name="scorer_list",
    ),
    path(
        "projects/<slug:slug>/scoring-runs/",
        scoring_api.ScoringRunListApi.as_view(),
        name="scoring_run_list",
    ),
    path(
        "projects/<slug:slug>/scoring-runs/<int:run_id>/",
        scoring_api.ScoringRunDetailApi.as_view(),
        name="scoring_run_detail",
    ),
    path(
        "projects/<slug:slug>/leaderboard/",
        scoring_api.LeaderboardApi.as_view(),
        name="leaderboard",
    ),
    path(
        "projects/<slug:slug>/scorers/<slug:name>/metaeval/",
        scoring_api.ScorerMetaevalApi.as_view(),
        name="scorer_metaeval",
    ),
    # exports: releases and their files
    path(
        "projects/<slug:slug>/releases/", exports_api.ReleaseListApi.as_view(), name="release_list"
    ),
    path(
        "projects/<slug:slug>/releases/create/",
        exports_api.ReleaseCreateApi.as_view(),
        name="release_create",
    ),
    path(
        "projects/<slug:slug>/releases/<str:ref>/",
        exports_api.ReleaseDetailApi.as_view(),
        name="release_detail",
    ),
    path(
        "projects/<slug:slug>/releases/<str:ref>/files/<str:name>",
        exports_api.ReleaseFileDownloadApi.as_view(),
        name="release_file",
    ),
]
