"""GET /healthz for load balancers and the container HEALTHCHECK.

Served by a middleware ahead of the host check and the session machinery: a probe that
calls http://localhost:8000/healthz must work whatever ALLOWED_HOSTS says, and must not
create sessions or depend on anything but what it reports on.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("health check: database unavailable: %s", exc)
        return f"error: {type(exc).__name__}"
    return "ok"


def health_response() -> JsonResponse:
    checks = {"database": check_database()}
    healthy = all(value == "ok" for value in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
