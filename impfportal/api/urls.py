"""The hotline API under /api/v1/ (namespace "api"), its OpenAPI document at /api/schema/ and
the interactive documentation at /api/docs/ (Swagger UI, served by us)."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from impfportal.api.problems import PROBLEM_CONTENT_TYPE, problem_body


@csrf_exempt  # a token-authenticated client has no CSRF cookie; this answers any method
def not_found(request, rest=""):
    """Any other address under /api/: a problem document too, not the website's HTML page."""
    body = problem_body(404, "not_found", _("Diese Adresse gibt es in der Schnittstelle nicht."))
    return JsonResponse(
        body, status=404, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )


v1 = [
    path("", include("centres.api")),
    path("", include("booking.api.urls")),
    path("", include("waitingroom.api")),
]

urlpatterns = [
    path("api/v1/", include((v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    re_path(r"^api/(?P<rest>.*)$", not_found),
]
