"""The hotline API's centres: address, capacity, opening hours and closures, nearest first when
the caller's postcode is given."""

from datetime import timedelta

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from centres.exceptions import PostcodeError
from centres.models import Centre, Closure, OpeningHours
from centres.selectors import active_centres, centres_by_distance, day_capacities
from impfportal.api.problems import Problem
from impfportal.api.schema import problem
from impfportal.api.serializers import field_error
from impfportal.api.views import HotlineView, Pages
from impfportal.models import Scope

CAPACITY_DAYS = 14


class OpeningHoursOut(serializers.Serializer):
    weekday = serializers.IntegerField(help_text=gettext_lazy("0 = Montag … 6 = Sonntag"))
    weekday_name = serializers.CharField()
    opens = serializers.TimeField()
    closes = serializers.TimeField()


class ClosureOut(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField()


class DayCapacityOut(serializers.Serializer):
    date = serializers.DateField()
    appointments = serializers.IntegerField(help_text=gettext_lazy("Impfungen, die an dem Tag möglich sind"))
    closed = serializers.CharField(allow_null=True, help_text=gettext_lazy("Grund, wenn geschlossen"))


class CentreOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    venue = serializers.CharField()
    street = serializers.CharField()
    postcode = serializers.CharField()
    town = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    lanes = serializers.IntegerField(help_text=gettext_lazy("Impfstraßen"))
    minutes_per_vaccination = serializers.IntegerField()
    vaccinations_per_hour = serializers.IntegerField()
    distance_km = serializers.FloatField(
        required=False, help_text=gettext_lazy("Luftlinie von der Postleitzahl (nur mit postcode)")
    )
    opening_hours = OpeningHoursOut(many=True)
    closures = ClosureOut(many=True, help_text=gettext_lazy("Schließtage der nächsten Wochen"))
    capacity = DayCapacityOut(many=True, help_text=gettext_lazy("Kapazität der nächsten 14 Tage"))


def _centres_out(centres: list[Centre], distances: dict[int, float] | None = None) -> list[dict]:
    """Centres with their hours, closures and capacity: three queries however many centres."""
    today = timezone.localdate()
    end = today + timedelta(days=CAPACITY_DAYS - 1)
    ids = [c.id for c in centres]
    hours = {}
    for row in OpeningHours.objects.filter(centre_id__in=ids).order_by("weekday", "opens"):
        hours.setdefault(row.centre_id, []).append(row)
    closures = {}
    for row in Closure.objects.filter(centre_id__in=ids, date__gte=today).order_by("date")[:500]:
        closures.setdefault(row.centre_id, []).append(row)
    capacities = day_capacities(centres=centres, start=today, end=end)
    result = []
    for centre in centres:
        data = {
            "code": centre.code,
            "name": centre.name,
            "venue": centre.venue,
            "street": centre.street,
            "postcode": centre.postcode,
            "town": centre.town,
            "latitude": float(centre.latitude),
            "longitude": float(centre.longitude),
            "lanes": centre.lanes,
            "minutes_per_vaccination": centre.minutes_per_vaccination,
            "vaccinations_per_hour": centre.lanes * 60 // centre.minutes_per_vaccination,
            "opening_hours": [
                {
                    "weekday": h.weekday,
                    "weekday_name": str(OpeningHours.Weekday(h.weekday).label),
                    "opens": h.opens,
                    "closes": h.closes,
                }
                for h in hours.get(centre.id, [])
            ],
            "closures": [{"date": c.date, "reason": c.reason} for c in closures.get(centre.id, [])],
            "capacity": [
                {
                    "date": day,
                    "appointments": capacities[centre.id, day].total,
                    "closed": capacities[centre.id, day].closure_reason,
                }
                for day in (today + timedelta(days=n) for n in range(CAPACITY_DAYS))
            ],
        }
        if distances is not None:
            data["distance_km"] = round(distances[centre.id], 1)
        result.append(CentreOut(data).data)
    return result


class CentresView(HotlineView):
    required_scope = Scope.AVAILABILITY
    pagination_class = Pages

    @extend_schema(
        operation_id="centres_list",
        tags=["Impfzentren"],
        summary="Impfzentren",
        description=gettext_lazy("Die aktiven Impfzentren; mit `postcode` das nächste zuerst."),
        parameters=[OpenApiParameter("postcode", str, description=gettext_lazy("Postleitzahl des Anrufers"))],
        responses={200: CentreOut(many=True)},
    )
    def get(self, request):
        postcode = request.query_params.get("postcode")
        distances = None
        if postcode is not None:
            try:
                near = centres_by_distance(postcode=postcode)
            except PostcodeError as error:
                raise field_error("postcode", error.message, error.code) from None
            centres, distances = [d.centre for d in near], {d.centre.id: d.km for d in near}
        else:
            centres = active_centres()
        return self.paginated(request, centres, lambda page: _centres_out(page, distances))


class CentreView(HotlineView):
    required_scope = Scope.AVAILABILITY

    @extend_schema(
        operation_id="centre_read",
        tags=["Impfzentren"],
        summary="Ein Impfzentrum",
        description=gettext_lazy(
            "Ein aktives Impfzentrum mit Öffnungszeiten, Schließtagen und der Kapazität der nächsten 14 Tage."
        ),
        responses={200: CentreOut, 404: problem("`centre_not_found`")},
    )
    def get(self, request, code):
        # A NUL character cannot be in a code, nor in a PostgreSQL query (it would fail).
        centre = None if "\x00" in code else Centre.objects.filter(code=code, active=True).first()
        if centre is None:
            raise Problem(
                404,
                "centre_not_found",
                _("Ein Impfzentrum mit dem Code „{code}“ gibt es nicht.").format(code=code),
            )
        return Response(_centres_out([centre])[0])


urlpatterns = [
    path("centres", CentresView.as_view(), name="centres"),
    path("centres/<str:code>", CentreView.as_view(), name="centre"),
]
