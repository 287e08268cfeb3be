"""Errors of the hotline API as `application/problem+json` (RFC 9457).

Every error body has a stable machine-readable `code` and a German `detail` an agent can read
out to the caller; field errors name the field (`person.birth_date`). Whatever goes wrong in a
view ends here, so no error leaves the API in another shape.
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: gettext_lazy("Ungültige Anfrage"),
    401: gettext_lazy("Nicht angemeldet"),
    403: gettext_lazy("Keine Berechtigung"),
    404: gettext_lazy("Nicht gefunden"),
    405: gettext_lazy("Methode nicht erlaubt"),
    406: gettext_lazy("Antwortformat nicht verfügbar"),
    409: gettext_lazy("Konflikt"),
    410: gettext_lazy("Nicht mehr gültig"),
    413: gettext_lazy("Anfrage zu groß"),
    415: gettext_lazy("Format der Anfrage nicht unterstützt"),
    422: gettext_lazy("Nicht verarbeitbar"),
    429: gettext_lazy("Zu viele Anfragen"),
    500: gettext_lazy("Interner Fehler"),
}


class Problem(exceptions.APIException):
    """An error with its HTTP status, stable code, German detail and optional field errors."""

    def __init__(self, status_code: int, code: str, detail: str, errors: list[dict] | None = None, **headers):
        self.status_code = status_code
        self.code = code
        self.errors = errors or []
        self.headers = headers
        super().__init__(detail=detail, code=code)


def problem_body(status_code: int, code: str, detail: str, errors: list[dict] | None = None) -> dict:
    body = {
        "type": f"urn:impfportal:problem:{code}",
        "title": str(TITLES.get(status_code, TITLES[400 if status_code < 500 else 500])),
        "status": status_code,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status_code: int, code: str, detail: str, errors: list[dict] | None = None, headers=None
) -> Response:
    return Response(
        problem_body(status_code, code, detail, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def field_errors(detail, prefix: str = "") -> list[dict]:
    """DRF's nested validation errors as a flat list of {field, code, message}, with dotted
    paths (`person.birth_date`, `items.2.date`); errors of the whole body have no field."""
    if isinstance(detail, dict):
        result = []
        for name, value in detail.items():
            path = prefix if name == "non_field_errors" else (f"{prefix}.{name}" if prefix else str(name))
            result += field_errors(value, path)
        return result
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [_field_error(prefix, item) for item in detail]
        result = []
        for index, item in enumerate(detail):
            result += field_errors(item, f"{prefix}.{index}" if prefix else str(index))
        return result
    return [_field_error(prefix, detail)]


def _field_error(path: str, item) -> dict:
    error = {"code": getattr(item, "code", "invalid"), "message": str(item)}
    if path:
        error = {"field": path, **error}
    return error


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error as a problem document."""
    if isinstance(exc, Http404):
        exc = Problem(404, "not_found", _("Diese Adresse gibt es in der Schnittstelle nicht."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = Problem(413, "body_too_large", _("Die Anfrage ist zu groß."))
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: the view logs it and answers 500 as a problem (impfportal/api/views.py)

    headers = dict(getattr(exc, "headers", None) or {})
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.code, exc.detail, exc.errors, headers)
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        named = ", ".join(sorted({e["field"] for e in errors if "field" in e}))
        detail = (
            _("Die Anfrage enthält ungültige Angaben: {fields}.").format(fields=named)
            if named
            else (errors[0]["message"] if errors else _("Die Anfrage ist ungültig."))
        )
        return problem_response(400, "invalid", detail, errors, headers)
    return problem_response(exc.status_code, _code_of(exc), _detail_of(exc), None, headers)


_API_EXCEPTION_CODES = {
    exceptions.ParseError: "malformed_body",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "invalid_token",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def _code_of(exc) -> str:
    """A code given where the error was raised (`scope_missing`), else one for its class."""
    codes = exc.get_codes()
    if isinstance(codes, str) and codes != exc.default_code:
        return codes
    return _API_EXCEPTION_CODES.get(type(exc)) or exc.default_code


def _detail_of(exc) -> str:
    if isinstance(exc, exceptions.Throttled):
        return _("Zu viele Anfragen dieses Zugangs. Bitte in {seconds} Sekunden wieder versuchen.").format(
            seconds=int(exc.wait or 60)
        )
    if isinstance(exc, exceptions.ParseError):
        return _("Der Inhalt der Anfrage ist kein gültiges JSON: {reason}").format(reason=exc.detail)
    return str(exc.detail)
