"""The hotline's booking endpoints: availability, registrations, holds and bookings.

Each view parses its input with a serializer, calls one selector or service, and answers with
a dictionary the `*Out` serializers describe. Holds made here belong to the client and agent
(`hotline:<client>:<agent>`), claim through the hotline channel (its contingent first, then the
shared pool) and never pass the waiting room.
"""

import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from booking.api import serializers as s
from booking.exceptions import (
    AlreadyBooked,
    BookingCancelled,
    BookingError,
    BookingNotFound,
    HoldExpired,
    HoldNotExtendable,
    HoldNotFound,
    MoveNotPossible,
    NoFreePair,
    NotEligible,
    RegistrationNotFound,
    SlotTaken,
)
from booking.models import Booking, Channel
from booking.selectors import (
    booking_lookup,
    eligibility,
    free_pairs,
    hold_get,
    hold_owner,
    registrations_for,
    second_dose_options,
)
from booking.services.bookings import PersonData, booking_cancel, booking_confirm, booking_move_second
from booking.services.holds import hold_create_at, hold_create_next, hold_extend, hold_release
from booking.services.registrations import registration_create, registration_find
from centres.models import Centre
from centres.selectors import centres_by_distance
from impfportal.api.schema import problem
from impfportal.api.views import HotlineView, Pages
from impfportal.models import Scope
from supply.models import Appointment, Vaccine

HOTLINE = Channel.HOTLINE


class BookingApiView(HotlineView):
    error_statuses = {
        SlotTaken: 409,
        NoFreePair: 409,
        HoldNotFound: 404,
        HoldExpired: 410,
        HoldNotExtendable: 409,
        NotEligible: 422,
        AlreadyBooked: 409,
        BookingNotFound: 404,
        BookingCancelled: 409,
        MoveNotPossible: 409,
        RegistrationNotFound: 404,
        BookingError: 409,
    }


def parse(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def parse_query(serializer_class, request) -> dict:
    """Query parameters through a serializer: list fields take every value given."""
    data = {}
    for name, field in serializer_class().fields.items():
        if name not in request.query_params:
            continue
        many = isinstance(field, s.serializers.ListField)
        data[name] = request.query_params.getlist(name) if many else request.query_params[name]
    return parse(serializer_class, data)


def owner_of(request, agent: str) -> str:
    return f"hotline:{request.user.pk}:{agent}"


# --- Availability ---------------------------------------------------------------------------


class AvailabilityView(BookingApiView):
    required_scope = Scope.AVAILABILITY
    conditional = True

    @extend_schema(
        operation_id="availability_search",
        tags=["Verfügbarkeit"],
        summary="Freie Terminpaare suchen",
        description=(
            "Freie Terminpaare (Erst- und Zweittermin) je Zentrum, Impfstoff und Tag (oder Uhrzeit), "
            "genau wie eine Reservierung durch die Hotline sie annähme: freigegeben, nicht reserviert, "
            "nicht gebucht, einschließlich des Hotline-Kontingents. Mit `birth_date` nur, was diese "
            "Person buchen darf. Antworten tragen ein ETag; mit `If-None-Match` kommt 304."
        ),
        parameters=[s.AvailabilityQuery],
        responses={200: s.AvailabilityOut, 304: None},
    )
    def get(self, request):
        query = parse_query(s.AvailabilityQuery, request)
        centre_ids, rank = _centres_wanted(query)
        vaccine_ids = [v.id for v in query["vaccine"]] if query.get("vaccine") else None
        check = None
        if "birth_date" in query:
            check = eligibility(birth_date=query["birth_date"], declared_group=query.get("declared_group"))
            allowed = check.vaccine_ids if check.eligible else []
            vaccine_ids = allowed if vaccine_ids is None else [i for i in vaccine_ids if i in allowed]
        free = free_pairs(
            by=query["by"],
            centre_ids=centre_ids,
            vaccine_ids=vaccine_ids,
            start=query["date_from"],
            end=query["date_to"] + timedelta(days=1),
            channel=HOTLINE,
        )
        results = _availability_rows(free.counts, query["by"], rank)
        # The ETag covers the numbers, not the moment they were counted: unchanged numbers are 304.
        self.etag_source = json.dumps(results, default=str).encode()
        body = {
            "computed_at": free.computed_at,
            "eligibility": _eligibility(check) if check else None,
            "results": results,
        }
        return Response(s.AvailabilityOut(body).data)


def _centres_wanted(query) -> tuple[list[int] | None, dict[int, int]]:
    """Centre ids to count (None: all) and their order: nearest first if a postcode is given."""
    named = {c.id for c in query["centre"]} if query.get("centre") else None
    if "postcode" not in query:
        return (sorted(named) if named is not None else None), {}
    near = [
        d.centre.id
        for d in centres_by_distance(postcode=query["postcode"])
        if "radius_km" not in query or d.km <= query["radius_km"]
    ]
    ids = [i for i in near if named is None or i in named]
    return ids, {centre_id: index for index, centre_id in enumerate(ids)}


def _availability_rows(counts: dict, by: str, rank: dict[int, int]) -> list[dict]:
    """Rows by centre (nearest first when ranked, else by code), vaccine and day or time."""
    centres = dict(Centre.objects.values_list("id", "code"))
    vaccines = dict(Vaccine.objects.values_list("id", "code"))

    def order(item):
        (centre_id, vaccine_id, when), _count = item
        return rank.get(centre_id, 0), centres[centre_id], vaccines[vaccine_id], when

    rows = []
    for (centre_id, vaccine_id, when), count in sorted(counts.items(), key=order):
        row = {"centre": centres[centre_id], "vaccine": vaccines[vaccine_id]}
        if by == "time":
            row |= {"date": timezone.localtime(when).date(), "starts_at": when}
        else:
            row["date"] = when
        rows.append(s.AvailabilityRow(row | {"free_pairs": count}).data)
    return rows


def _eligibility(check) -> dict:
    codes = dict(Vaccine.objects.filter(id__in=check.vaccine_ids).values_list("id", "code"))
    return {
        "eligible": check.eligible,
        "age": check.age,
        "group": check.group.number if check.group else None,
        "vaccines": [codes[i] for i in check.vaccine_ids],
        "reason": check.reason,
    }


# --- Registrations --------------------------------------------------------------------------


def _person(person) -> dict:
    return {"first_name": person.first_name, "last_name": person.last_name, "birth_date": person.birth_date}


def _registration(registration) -> dict:
    return s.RegistrationOut(
        {
            "code": registration.code,
            "person": _person(registration.person),
            "priority_group": registration.priority_group.number if registration.priority_group else None,
            "channel": registration.channel,
            "created_at": registration.created_at,
        }
    ).data


PERSON_EXAMPLE = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "birth_date": "1938-05-17",
    "postcode": "01067",
    "phone": "0351 1234567",
}


class RegistrationsView(BookingApiView):
    required_scope = Scope.REGISTRATIONS
    audit_actions = {"POST": "registration.create"}
    pagination_class = Pages

    @extend_schema(
        operation_id="registration_create",
        tags=["Registrierungen"],
        summary="Anrufer registrieren",
        description="Legt eine Registrierung an; mit ihrem Code kann die Person später online buchen.",
        request=s.RegistrationCreate,
        responses={201: s.RegistrationOut},
        examples=[
            OpenApiExample(
                "registration", summary="Registrierung", value={"person": PERSON_EXAMPLE}, request_only=True
            )
        ],
    )
    def post(self, request):
        data = parse(s.RegistrationCreate, request.data)
        registration = registration_create(
            person=PersonData(**data["person"]),
            channel=HOTLINE,
            agent=self.agent,
            declared_group=data.get("declared_group"),
        )
        self.audit_object = ("registration", registration.code)
        return Response(
            _registration(registration),
            status=201,
            headers={"Location": reverse("api:registration", args=[registration.code])},
        )

    @extend_schema(
        operation_id="registration_search",
        tags=["Registrierungen"],
        summary="Registrierungen nach Name und Geburtsdatum",
        description="Groß- und Kleinschreibung, Akzente und Leerzeichen im Namen spielen keine Rolle.",
        parameters=[s.RegistrationSearch],
        responses={200: s.RegistrationOut(many=True)},
    )
    def get(self, request):
        query = parse_query(s.RegistrationSearch, request)
        return self.paginated(
            request, registrations_for(**query), lambda page: [_registration(r) for r in page]
        )


class RegistrationView(BookingApiView):
    required_scope = Scope.REGISTRATIONS

    @extend_schema(
        operation_id="registration_read",
        tags=["Registrierungen"],
        summary="Registrierung nach Code",
        parameters=[s.BirthDateQuery],
        responses={200: s.RegistrationOut, 404: problem("`registration_not_found`")},
    )
    def get(self, request, code):
        query = parse_query(s.BirthDateQuery, request)
        return Response(_registration(registration_find(code=code, birth_date=query["birth_date"])))


# --- Holds ----------------------------------------------------------------------------------


def _own_hold(request, token):
    """The hold with this token if this client made it (any of its agents); otherwise, as for
    a token that does not exist, HoldNotFound."""
    hold = hold_get(token=token)
    _check_owner(request, hold.owner)
    return hold


def _check_owner(request, owner: str) -> None:
    if not owner.startswith(f"hotline:{request.user.pk}:"):
        raise HoldNotFound()


def _appointment(appointment) -> dict | None:
    return {"id": appointment.id, "starts_at": appointment.starts_at} if appointment else None


def _hold(hold) -> dict:
    first = hold.first
    return s.HoldOut(
        {
            "token": hold.token,
            "centre": {"code": first.centre.code, "name": first.centre.name},
            "vaccine": {"code": first.vaccine.code, "name": first.vaccine.name},
            "first": _appointment(first),
            "second": _appointment(hold.second),
            "expires_at": hold.expires_at,
            "extended": hold.extended,
            "hotline_contingent": first.hotline_only,
        }
    ).data


HOLD_PROBLEMS = {
    404: problem("`hold_not_found`"),
    409: problem("`hold_not_extendable`, `idempotency_in_progress`"),
    410: problem("`hold_expired`: die Reservierung ist abgelaufen, die Termine sind wieder frei"),
}


class HoldsView(BookingApiView):
    required_scope = Scope.BOOKINGS
    audit_actions = {"POST": "hold.create"}

    @extend_schema(
        operation_id="hold_create",
        tags=["Reservierungen"],
        summary="Terminpaar reservieren",
        description=(
            "Reserviert ein Terminpaar für die Dauer der Haltezeit (Standard 10 Minuten): mit `starts_at` "
            "einen Ersttermin genau zu dieser Zeit, mit `date` (und `date_to`, `after`) den nächsten freien. "
            "Das Hotline-Kontingent wird zuerst genommen. Eine neue Reservierung derselben Mitarbeiterin "
            "gibt ihre vorige frei."
        ),
        request=s.HoldCreate,
        responses={201: s.HoldOut, 409: problem("`slot_taken`, `no_free_pair`, `idempotency_in_progress`")},
        examples=[
            OpenApiExample(
                "next",
                summary="nächster freier Termin",
                value={"centre": "DD01", "vaccine": "comirnaty", "date": "2021-06-01"},
                request_only=True,
            ),
            OpenApiExample(
                "exact",
                summary="genau dieser Termin",
                value={"centre": "DD01", "vaccine": "comirnaty", "starts_at": "2021-06-01T09:30:00+02:00"},
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        data = parse(s.HoldCreate, request.data)
        common = {
            "centre_id": data["centre"].id,
            "vaccine_id": data["vaccine"].id,
            "owner": owner_of(request, self.agent),
            "channel": HOTLINE,
        }
        if "starts_at" in data:
            hold = hold_create_at(starts_at=data["starts_at"], **common)
        else:
            hold = hold_create_next(
                day=data["date"], after=data.get("after"), until=data.get("date_to"), **common
            )
        self.audit_object = ("hold", hold.token)
        # The answer from what is known already, and the two appointments' times (one cheap query).
        appointments = Appointment.objects.only("id", "starts_at", "hotline_only").in_bulk(
            hold.appointment_ids
        )
        hold.first, hold.second = appointments[hold.first_id], appointments.get(hold.second_id)
        hold.first.centre, hold.first.vaccine = data["centre"], data["vaccine"]
        return Response(
            _hold(hold),
            status=201,
            headers={"Location": reverse("api:hold", args=[hold.token])},
        )


class HoldView(BookingApiView):
    required_scope = Scope.BOOKINGS
    audit_actions = {"DELETE": "hold.release"}

    @extend_schema(
        operation_id="hold_read",
        tags=["Reservierungen"],
        summary="Reservierung lesen",
        responses={200: s.HoldOut, 404: HOLD_PROBLEMS[404]},
    )
    def get(self, request, token):
        return Response(_hold(_own_hold(request, token)))

    @extend_schema(
        operation_id="hold_release",
        tags=["Reservierungen"],
        summary="Reservierung freigeben",
        description="Die Termine sind sofort wieder frei. Eine schon gebuchte Reservierung bleibt gebucht.",
        responses={204: None, 404: HOLD_PROBLEMS[404]},
    )
    def delete(self, request, token):
        self.audit_object = ("hold", token)
        hold = _own_hold(request, token)
        hold_release(token=hold.token)
        return Response(status=204)


class HoldExtendView(BookingApiView):
    required_scope = Scope.BOOKINGS
    audit_actions = {"POST": "hold.extend"}

    @extend_schema(
        operation_id="hold_extend",
        tags=["Reservierungen"],
        summary="Reservierung einmal verlängern",
        description="Gibt einmal die volle Haltezeit zur verbleibenden dazu.",
        request=None,
        responses={200: s.HoldOut, **HOLD_PROBLEMS},
    )
    def post(self, request, token):
        self.audit_object = ("hold", token)
        hold = _own_hold(request, token)
        hold_extend(token=hold.token)
        return Response(_hold(hold_get(token=hold.token)))


# --- Bookings -------------------------------------------------------------------------------


def _booking(booking: Booking) -> dict:
    first, centre = booking.first, booking.first.centre
    return s.BookingOut(
        {
            "code": booking.code,
            "status": booking.status,
            "channel": booking.channel,
            "person": _person(booking.person),
            "centre": {
                "code": centre.code,
                "name": centre.name,
                "address": f"{centre.venue}, {centre.street}, {centre.postcode} {centre.town}",
            },
            "vaccine": {"code": first.vaccine.code, "name": first.vaccine.name},
            "first": _appointment(first),
            "second": _appointment(booking.second),
            "created_at": booking.created_at,
            "cancelled_at": booking.cancelled_at,
        }
    ).data


def _booking_by_pk(pk: int) -> Booking:
    return Booking.objects.select_related("person", "first__centre", "first__vaccine", "second").get(pk=pk)


BOOKING_PROBLEMS = {404: problem("`booking_not_found`: Code und Geburtsdatum passen zu keiner Buchung")}


class BookingsView(BookingApiView):
    required_scope = Scope.BOOKINGS
    audit_actions = {"POST": "booking.create"}

    @extend_schema(
        operation_id="booking_create",
        tags=["Buchungen"],
        summary="Reservierung buchen",
        description=(
            "Bucht das reservierte Paar für eine Person: mit ihren Daten (`person`) oder mit "
            "`registration_code` und `birth_date`. Prüft Berechtigung und Impfstoff fürs Alter und "
            "dass die Person noch keine Buchung hat. Eine zweite Buchung derselben Reservierung gibt "
            "dieselbe Buchung zurück."
        ),
        request=s.BookingCreate,
        responses={
            201: s.BookingOut,
            404: problem("`hold_not_found`, `registration_not_found`"),
            409: problem("`already_booked` (Code maskiert), `idempotency_in_progress`"),
            410: HOLD_PROBLEMS[410],
            422: problem("`not_eligible`, `idempotency_key_reused`"),
        },
        examples=[
            OpenApiExample(
                "person",
                summary="mit Personendaten",
                value={"hold": "6f1c1f9e-3a4b-4c1d-9f7e-2b8a5d0c4e11", "person": PERSON_EXAMPLE},
                request_only=True,
            ),
            OpenApiExample(
                "registration",
                summary="mit Registrierungscode",
                value={
                    "hold": "6f1c1f9e-3a4b-4c1d-9f7e-2b8a5d0c4e11",
                    "registration_code": "K7PX3M9Q2R4T",
                    "birth_date": "1938-05-17",
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        data = parse(s.BookingCreate, request.data)
        _check_owner(request, hold_owner(token=data["hold"]))
        registration = None
        if "registration_code" in data:
            registration = registration_find(code=data["registration_code"], birth_date=data["birth_date"])
        booking = booking_confirm(
            token=data["hold"],
            person=PersonData(**data["person"]) if "person" in data else None,
            registration=registration,
            channel=HOTLINE,
            agent=self.agent,
            declared_group=data.get("declared_group"),
        )
        self.audit_object = ("booking", booking.code)
        return Response(
            _booking(_booking_by_pk(booking.pk)),
            status=201,
            headers={"Location": reverse("api:booking", args=[booking.code])},
        )


class BookingView(BookingApiView):
    required_scope = Scope.BOOKINGS
    audit_actions = {"DELETE": "booking.cancel", "PATCH": "booking.move_second"}

    @extend_schema(
        operation_id="booking_read",
        tags=["Buchungen"],
        summary="Buchung nach Code",
        parameters=[s.BirthDateQuery],
        responses={200: s.BookingOut, **BOOKING_PROBLEMS},
    )
    def get(self, request, code):
        query = parse_query(s.BirthDateQuery, request)
        return Response(_booking(booking_lookup(code=code, birth_date=query["birth_date"])))

    @extend_schema(
        operation_id="booking_cancel",
        tags=["Buchungen"],
        summary="Buchung stornieren",
        description="Beide Termine sind sofort wieder frei. Antwortet mit der stornierten Buchung.",
        parameters=[s.BirthDateQuery],
        responses={
            200: s.BookingOut,
            **BOOKING_PROBLEMS,
            409: problem("`booking_cancelled`, `idempotency_in_progress`"),
        },
    )
    def delete(self, request, code):
        self.audit_object = ("booking", code)
        query = parse_query(s.BirthDateQuery, request)
        booking = booking_cancel(code=code, birth_date=query["birth_date"])
        return Response(_booking(_booking_by_pk(booking.pk)))

    @extend_schema(
        operation_id="booking_move_second",
        tags=["Buchungen"],
        summary="Zweittermin verschieben",
        description="Auf eine der Zeiten aus `second-dose-options`, im erlaubten Abstand zum Ersttermin.",
        request=s.SecondDoseMove,
        responses={
            200: s.BookingOut,
            **BOOKING_PROBLEMS,
            409: problem("`move_not_possible`, `booking_cancelled`, `idempotency_in_progress`"),
        },
    )
    def patch(self, request, code):
        self.audit_object = ("booking", code)
        data = parse(s.SecondDoseMove, request.data)
        booking = booking_move_second(
            code=code, birth_date=data["birth_date"], starts_at=data["second_starts_at"]
        )
        return Response(_booking(_booking_by_pk(booking.pk)))


class SecondDoseOptionsView(BookingApiView):
    required_scope = Scope.BOOKINGS

    @extend_schema(
        operation_id="booking_second_dose_options",
        tags=["Buchungen"],
        summary="Mögliche andere Zweittermine",
        parameters=[s.BirthDateQuery],
        responses={
            200: s.SecondDoseOption(many=True),
            **BOOKING_PROBLEMS,
            409: problem("`booking_cancelled`"),
        },
    )
    def get(self, request, code):
        query = parse_query(s.BirthDateQuery, request)
        booking = booking_lookup(code=code, birth_date=query["birth_date"])
        if booking.status != Booking.Status.ACTIVE:
            raise BookingCancelled()
        options = (
            second_dose_options(first=booking.first, current_second=booking.second) if booking.second else []
        )
        return Response([s.SecondDoseOption({"starts_at": at, "free": n}).data for at, n in options])
