from django.urls import path

from . import composition_views, dispute_views, quality_views, views

app_name = "annotation"

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/leases/<int:lease_id>/submit/", views.submit, name="submit"),
    path("p/<slug:slug>/leases/<int:lease_id>/skip/", views.skip, name="skip"),
    path("p/<slug:slug>/guidelines/", views.guidelines, name="guidelines"),
    path("p/<slug:slug>/lead/", views.project_lead, name="project_lead"),
    path(
        "p/<slug:slug>/lead/composition/",
        composition_views.composition_panel,
        name="composition_panel",
    ),
    path("p/<slug:slug>/lead/gold/", quality_views.gold_mark_view, name="gold_mark"),
    path(
        "p/<slug:slug>/lead/annotators/<int:annotator_id>/<str:action>/",
        quality_views.annotator_action,
        name="annotator_action",
    ),
    path("p/<slug:slug>/lead/disputes/", dispute_views.dispute_queue, name="dispute_queue"),
    path(
        "p/<slug:slug>/lead/disputes/<int:dispute_id>/",
        dispute_views.dispute_page_view,
        name="dispute",
    ),
    path(
        "p/<slug:slug>/lead/disputes/<int:dispute_id>/<str:action>/",
        dispute_views.dispute_action,
        name="dispute_action",
    ),
]
