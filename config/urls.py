from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation.views import healthz

# A path under /api/ that matches no route answers JSON, as the API's own 404s do.
handler404 = "annotation.api_errors.page_not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, and api_docs.html drops
    # the inline style: nothing inline for the CSP to block.
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("api/v1/", include("config.api_urls")),
    path("scoring/", include("scoring.urls")),
    path("releases/", include("exports.urls")),
    path("", include("annotation.import_urls")),
    path("", include("annotation.urls")),
]
