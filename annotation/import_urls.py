from django.urls import path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("p/<slug:slug>/imports/", import_views.import_upload, name="upload"),
    path("p/<slug:slug>/imports/<int:batch_id>/", import_views.import_job, name="job"),
    path("p/<slug:slug>/near-duplicates/", import_views.near_duplicates, name="near_duplicates"),
]
