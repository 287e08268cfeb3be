"""OpenAPI for the hotline API (drf-spectacular): the bearer token, the headers every request
carries, and the problem documents every operation may answer with, added to each operation
here so that no view can forget them."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from impfportal.api.problems import PROBLEM_CONTENT_TYPE
from impfportal.api.views import AGENT_HEADER, IDEMPOTENCY_HEADER, WRITES, HotlineView


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, help_text="Feld mit Punkten für Verschachtelung")
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem document."""

    type = serializers.CharField(help_text="urn:impfportal:problem:<code>")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="Deutscher Text zum Vorlesen")
    code = serializers.CharField(help_text="stabiler, maschinenlesbarer Fehlercode")
    errors = FieldErrorSerializer(many=True, required=False)


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ProblemSerializer, description=description)


COMMON = {
    400: "`invalid` (Feldfehler in `errors`), `malformed_body`, `agent_missing`, `idempotency_key_invalid`",
    401: "`not_authenticated`, `invalid_token`, `token_revoked`",
    403: "`scope_missing`",
    406: "`not_acceptable`",
    429: "`throttled` (Header Retry-After)",
}
PAGINATED = {404: "`not_found`: diese Seite (`page`) gibt es nicht"}
WRITE_ONLY = {
    409: "`idempotency_in_progress`: dieselbe Anfrage läuft noch (Retry-After)",
    413: "`body_too_large`",
    415: "`unsupported_media_type`",
    422: "`idempotency_key_reused`: derselbe Schlüssel mit anderem Inhalt",
}


# What DRF's TimeField reads (ISO 8601 without offset) and writes: hh:mm[:ss[.ffffff]].
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


class HotlineAutoSchema(AutoSchema):
    """AutoSchema that adds the agent and idempotency headers and the common problems."""

    def get_description(self):
        """Only what `extend_schema(description=...)` says: the views' docstrings are written for
        developers, in English, and would otherwise reach the integrators' documentation."""
        return ""

    def _hotline(self) -> bool:
        return isinstance(self.view, HotlineView) and self.view.required_scope is not None

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if not self._hotline():
            return parameters
        parameters.append(
            OpenApiParameter(
                AGENT_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$",
                description="Kennung der Mitarbeiterin oder des Mitarbeiters am Telefon (Protokoll).",
            )
        )
        if self.method in WRITES:
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    pattern=r"^[\x21-\x7e]{1,255}$",
                    description=(
                        "Beliebiger eindeutiger Schlüssel je Vorgang (z. B. eine UUID). Dieselbe Anfrage "
                        "mit demselben Schlüssel bekommt 24 Stunden lang dieselbe Antwort (Header "
                        "`Idempotent-Replayed: true`) und bewirkt nichts ein zweites Mal."
                    ),
                )
            )
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            # A local wall-clock time ("08:00:00"), which the `time` format (RFC 3339, with an
            # offset) would refuse.
            del schema["format"]
            schema.update(pattern=LOCAL_TIME_PATTERN, example="08:00:00")
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self._hotline():
            return responses
        for code, response in responses.items():  # a view's own problems: the problem media type
            content = response.get("content", {})
            if int(code) >= 400 and "application/json" in content:
                content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        extra = dict(COMMON)
        if self.method in WRITES:
            extra.update(WRITE_ONLY)
        if self.method == "GET" and self._get_paginator() and self._is_list_view():
            extra.update(PAGINATED)
        for status_code, codes in extra.items():
            key = str(status_code)
            if key in responses:
                continue
            responses[key] = self._get_response_for_code(
                problem(f"Fehlercodes: {codes}"), key, [PROBLEM_CONTENT_TYPE], direction
            )
        return responses


class ClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "impfportal.api.auth.ClientTokenAuthentication"
    name = "hotlineToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Ein Token je Call-Center-System, angelegt in der Verwaltung oder mit "
                "`manage.py create_api_client`. Rechte (Scopes): availability, registrations, bookings."
            ),
        }
