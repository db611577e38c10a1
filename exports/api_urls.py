from django.urls import path

from . import api

app_name = "exports-api"

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="project_list"),
    path("projects/<slug:slug>/", api.ProjectDetailApi.as_view(), name="project_detail"),
    path("projects/<slug:slug>/runs/", api.AggregationRunListApi.as_view(), name="run_list"),
    path(
        "projects/<slug:slug>/runs/trigger/",
        api.AggregationRunTriggerApi.as_view(),
        name="run_trigger",
    ),
    path(
        "projects/<slug:slug>/runs/<int:run_id>/",
        api.AggregationRunDetailApi.as_view(),
        name="run_detail",
    ),
    path("projects/<slug:slug>/releases/", api.ReleaseListApi.as_view(), name="release_list"),
    path(
        "projects/<slug:slug>/releases/create/",
        api.ReleaseCreateApi.as_view(),
        name="release_create",
    ),
    path(
        "projects/<slug:slug>/releases/<str:ref>/",
        api.ReleaseDetailApi.as_view(),
        name="release_detail",
    ),
    path(
        "projects/<slug:slug>/releases/<str:ref>/files/<str:name>",
        api.ReleaseFileDownloadApi.as_view(),
        name="release_file",
    ),
    path("projects/<slug:slug>/items/import/", api.ItemsImportApi.as_view(), name="items_import"),
]
