from django.urls import path

from . import annotator_checks, dashboard_views, ranking_views, views

app_name = "scoring"

urlpatterns = [
    path("p/<slug:slug>/", views.project_runs, name="project_runs"),
    path("p/<slug:slug>/panel/", views.project_panel, name="project_panel"),
    path(
        "p/<slug:slug>/models/panel/",
        ranking_views.model_ranking_panel,
        name="model_ranking_panel",
    ),
    path(
        "p/<slug:slug>/dashboard/per-day/",
        dashboard_views.per_day_panel,
        name="dashboard_per_day",
    ),
    path(
        "p/<slug:slug>/dashboard/agreement/",
        dashboard_views.agreement_panel,
        name="dashboard_agreement",
    ),
    path(
        "p/<slug:slug>/dashboard/completion/",
        dashboard_views.completion_panel,
        name="dashboard_completion",
    ),
    path(
        "p/<slug:slug>/annotators/",
        annotator_checks.annotator_checks_panel,
        name="annotator_checks",
    ),
    path("p/<slug:slug>/runs/", views.project_run_trigger, name="project_run_trigger"),
    path("p/<slug:slug>/scorers/", views.project_scorers, name="project_scorers"),
    # Starting a run is under scoring-runs/, so that every scorer name has its page.
    path(
        "p/<slug:slug>/scoring-runs/start/",
        views.project_scoring_run_start,
        name="project_scoring_run_start",
    ),
    path("p/<slug:slug>/scorers/<slug:name>/", views.project_scorer, name="project_scorer"),
    path(
        "p/<slug:slug>/scoring-runs/<int:run_id>/",
        views.project_scoring_run,
        name="project_scoring_run",
    ),
]
