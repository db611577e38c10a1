from django.urls import path

from . import jobs_views, views

app_name = "exports"

urlpatterns = [
    path("me/token/", views.token, name="token"),
    path("p/<slug:slug>/", views.project_releases, name="project_releases"),
    path("p/<slug:slug>/panel/", views.project_panel, name="project_panel"),
    path("p/<slug:slug>/jobs/", jobs_views.project_jobs, name="project_jobs"),
]
