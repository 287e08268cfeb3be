"""GET /api/v1/public/availability: the live overview's numbers as JSON, for anyone (no token,
open CORS), as cacheable as the page: one rendering per overview and age, an ETag, and
`Cache-Control: public` for the second a web process keeps its copy."""

import json
import threading

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from booking.services.overview import overview_current
from booking.views.overview import parse_age
from impfportal.api.problems import PROBLEM_CONTENT_TYPE
from impfportal.api.schema import problem
from impfportal.api.serializers import field_error

_bodies: dict[tuple, bytes] = {}
_bodies_lock = threading.Lock()


class VaccineOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    short = serializers.CharField(help_text=_("Kurzname, z. B. Comirnaty"))
    min_age = serializers.IntegerField()
    max_age = serializers.IntegerField(allow_null=True)


class CentreFree(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    town = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    total = serializers.IntegerField(help_text=_("freie Terminpaare zusammen"))
    by_vaccine = serializers.DictField(child=serializers.IntegerField(), help_text=_("je Impfstoff-Code"))
    by_day = serializers.DictField(child=serializers.IntegerField(), help_text=_("je Tag der Erstimpfung"))


class PublicAvailability(serializers.Serializer):
    computed_at = serializers.DateTimeField(help_text=_("Stand der Zahlen"))
    age = serializers.IntegerField(allow_null=True, help_text=_("das Alter, für das gefiltert wurde"))
    open_by_age_from = serializers.IntegerField(
        allow_null=True,
        help_text=_("ab diesem Alter kann man allein nach dem Alter buchen (jünger: nur mit Gruppe)"),
    )
    days = serializers.ListField(child=serializers.DateField())
    vaccines = VaccineOut(many=True, help_text=_("die für dieses Alter zugelassenen Impfstoffe"))
    centres = CentreFree(many=True)
    by_day = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class PublicAvailabilityView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="public_availability",
        tags=[_("Öffentlich")],
        summary=_("Freie Termine aller Impfzentren (öffentlich)"),
        description=_(
            "Dieselben Zahlen wie die Seite „Freie Termine“: freigegebene, nicht reservierte, nicht "
            "gebuchte ganze Terminpaare je Impfzentrum, Impfstoff und Tag, ohne das Kontingent der "
            "Hotline. Ohne Anmeldung, CORS offen, höchstens wenige Sekunden alt (`computed_at`); "
            "ETag und `If-None-Match`."
        ),
        parameters=[
            OpenApiParameter(
                "age", int, description=_("nur Impfstoffe, die für dieses Alter zugelassen sind (0–120)")
            )
        ],
        responses={
            200: PublicAvailability,
            304: None,
            (400, PROBLEM_CONTENT_TYPE): problem("`invalid` (Feld `age`)"),
        },
    )
    def get(self, request):
        age, error = parse_age(request.query_params.get("age"))
        if error:
            raise field_error("age", error)
        current = overview_current()
        key = (age, current.version)
        with _bodies_lock:
            body = _bodies.get(key)
        if body is None:
            body = json.dumps(
                PublicAvailability(
                    {
                        "computed_at": current.computed_at,
                        "age": age,
                        "open_by_age_from": current.open_by_age_from,
                        "days": current.days,
                        **current.for_age(age),
                    }
                ).data,
                cls=DjangoJSONEncoder,
                ensure_ascii=False,
            ).encode()
            with _bodies_lock:
                if any(k[-1] != current.version for k in _bodies):
                    _bodies.clear()
                _bodies[key] = body
        etag = f'"{current.version}-{"all" if age is None else age}"'
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = f"public, max-age={settings.OVERVIEW_REFRESH_SECONDS}"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"  # open data: any site may show it
        response["Access-Control-Expose-Headers"] = "ETag"
        return response
