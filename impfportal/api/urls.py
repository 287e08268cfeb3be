"""The hotline API under /api/v1/ (namespace "api"), its OpenAPI document at /api/schema/ and
the interactive documentation at /api/docs/ (Swagger UI, served by us)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

v1 = [
    path("", include("centres.api")),
    path("", include("booking.api.urls")),
    path("", include("waitingroom.api")),
]

urlpatterns = [
    path("api/v1/", include((v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
]
