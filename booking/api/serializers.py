"""What the hotline sends and gets back: requests are validated here (every error names its
field), answers are plain dictionaries built by the views and described by these serializers."""

from datetime import timedelta

from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from booking.forms import check_birth_date, validate_phone
from booking.models import PriorityGroup
from centres.geo import validate_postcode
from centres.models import Centre
from impfportal.api.serializers import StrictSerializer, field_error
from supply.models import Vaccine

MAX_DAYS = {"day": 62, "time": 7}


class CodeField(serializers.SlugRelatedField):
    """An object by its code. A code with a NUL character is refused as DRF's CharField refuses
    it, before the lookup: PostgreSQL cannot compare text with NUL, and the query would fail."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError(NUL.message, code=NUL.code)
        return super().to_internal_value(data)


NUL = ProhibitNullCharactersValidator()


def centre_field(**kwargs):
    return CodeField(
        slug_field="code",
        queryset=Centre.objects.filter(active=True),
        error_messages={"does_not_exist": _("Ein Impfzentrum mit dem Code „{value}“ gibt es nicht.")},
        help_text=_("Code des Impfzentrums, z. B. DD01"),
        **kwargs,
    )


def vaccine_field(**kwargs):
    return CodeField(
        slug_field="code",
        queryset=Vaccine.objects.filter(active=True),
        error_messages={"does_not_exist": _("Einen Impfstoff mit dem Code „{value}“ gibt es nicht.")},
        help_text=_("Code des Impfstoffs, z. B. comirnaty"),
        **kwargs,
    )


def group_field(**kwargs):
    return serializers.IntegerField(
        min_value=1,
        max_value=99,
        validators=[_group_exists],
        help_text=_("Prioritätsgruppe laut Selbstauskunft (Nachweis im Impfzentrum)"),
        **kwargs,
    )


def _group_exists(number: int) -> None:
    if not PriorityGroup.objects.filter(number=number).exists():
        raise serializers.ValidationError(
            _("Eine Prioritätsgruppe {number} gibt es nicht.").format(number=number), "does_not_exist"
        )


class BirthDateField(serializers.DateField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("Geburtsdatum, JJJJ-MM-TT"))
        super().__init__(validators=[check_birth_date], **kwargs)


# --- Requests -------------------------------------------------------------------------------


class AvailabilityQuery(StrictSerializer):
    centre = serializers.ListField(child=centre_field(), required=False, help_text=_("mehrfach möglich"))
    vaccine = serializers.ListField(child=vaccine_field(), required=False, help_text=_("mehrfach möglich"))
    date_from = serializers.DateField(required=False, help_text=_("erster Tag, Standard: heute"))
    date_to = serializers.DateField(
        required=False, help_text=_("letzter Tag, Standard: 14 Tage ab date_from")
    )
    postcode = serializers.CharField(required=False, help_text=_("Postleitzahl"))
    radius_km = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=300,
        help_text=_("nur Zentren in diesem Umkreis der Postleitzahl"),
    )
    birth_date = BirthDateField(required=False)
    declared_group = group_field(required=False)
    by = serializers.ChoiceField(
        choices=["day", "time"], default="day", help_text=_("je Tag oder je Uhrzeit (höchstens 7 Tage)")
    )

    def validate_postcode(self, value):
        return validate_postcode(value)

    def validate(self, attrs):
        today = timezone.localdate()
        start = attrs.setdefault("date_from", today)
        end = attrs.setdefault("date_to", start + timedelta(days=13))
        if end < start:
            raise field_error("date_to", _("Der letzte Tag liegt vor dem ersten."), "range")
        limit = MAX_DAYS[attrs["by"]]
        if (end - start).days >= limit:
            raise field_error(
                "date_to", _("Höchstens {days} Tage auf einmal.").format(days=limit), "range_too_long"
            )
        if "radius_km" in attrs and "postcode" not in attrs:
            raise field_error("postcode", _("Für einen Umkreis bitte die Postleitzahl angeben."), "required")
        if "declared_group" in attrs and "birth_date" not in attrs:
            raise field_error(
                "birth_date", _("Zur Prioritätsgruppe bitte das Geburtsdatum angeben."), "required"
            )
        return attrs


class PersonIn(StrictSerializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    birth_date = BirthDateField()
    postcode = serializers.CharField(max_length=10)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=30, validators=[validate_phone]
    )

    def validate_postcode(self, value):
        return validate_postcode(value)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("phone"):
            raise field_error(
                "phone", _("Bitte eine Telefonnummer oder eine E-Mail-Adresse angeben."), "required"
            )
        return attrs


class RegistrationCreate(StrictSerializer):
    person = PersonIn()
    declared_group = group_field(required=False)


class RegistrationSearch(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    birth_date = BirthDateField()


class BirthDateQuery(serializers.Serializer):
    birth_date = BirthDateField(help_text=_("zur Kontrolle: das Geburtsdatum der Person"))


class HoldCreate(StrictSerializer):
    centre = centre_field()
    vaccine = vaccine_field()
    starts_at = serializers.DateTimeField(
        required=False, help_text=_("genau dieser Ersttermin (Uhrzeit aus der Verfügbarkeit je Uhrzeit)")
    )
    date = serializers.DateField(required=False, help_text=_("der nächste freie Ersttermin ab diesem Tag"))
    date_to = serializers.DateField(
        required=False, help_text=_("… bis zu diesem Tag (Standard: derselbe Tag)")
    )
    after = serializers.TimeField(required=False, help_text=_("… und am ersten Tag ab dieser Uhrzeit"))

    def validate(self, attrs):
        if ("starts_at" in attrs) == ("date" in attrs):
            raise field_error(
                "starts_at", _("Bitte genau eines angeben: starts_at (ein Termin) oder date (der nächste)."),
                "one_of",
            )  # fmt: skip
        if "starts_at" in attrs and ({"date_to", "after"} & set(attrs)):
            raise field_error(
                "date_to", _("date_to und after gehören zu date, nicht zu starts_at."), "one_of"
            )
        if "date" in attrs and attrs.get("date_to") is not None:
            if attrs["date_to"] < attrs["date"]:
                raise field_error("date_to", _("Der letzte Tag liegt vor dem ersten."), "range")
            if (attrs["date_to"] - attrs["date"]).days > 62:
                raise field_error("date_to", _("Höchstens 63 Tage auf einmal."), "range_too_long")
        return attrs


class BookingCreate(StrictSerializer):
    hold = serializers.UUIDField(help_text=_("Token der Reservierung"))
    person = PersonIn(required=False)
    registration_code = serializers.CharField(required=False, max_length=20)
    birth_date = BirthDateField(required=False)
    declared_group = group_field(required=False)

    def validate(self, attrs):
        if ("person" in attrs) == ("registration_code" in attrs):
            raise field_error(
                "person", _("Bitte genau eines angeben: person (Daten) oder registration_code."), "one_of"
            )
        if "registration_code" in attrs and "birth_date" not in attrs:
            raise field_error(
                "birth_date", _("Zum Registrierungscode bitte das Geburtsdatum angeben."), "required"
            )
        if "person" in attrs and "birth_date" in attrs:
            raise field_error("birth_date", _("Das Geburtsdatum gehört in person."), "one_of")
        return attrs


class SecondDoseMove(StrictSerializer):
    birth_date = BirthDateField()
    second_starts_at = serializers.DateTimeField(help_text=_("neuer Zweittermin (aus second-dose-options)"))


# --- Answers --------------------------------------------------------------------------------


class Named(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class EligibilityOut(serializers.Serializer):
    eligible = serializers.BooleanField()
    age = serializers.IntegerField()
    group = serializers.IntegerField(allow_null=True)
    vaccines = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField(allow_blank=True)


class AvailabilityRow(serializers.Serializer):
    centre = serializers.CharField()
    vaccine = serializers.CharField()
    date = serializers.DateField()
    starts_at = serializers.DateTimeField(required=False, help_text=_("nur bei by=time"))
    free_pairs = serializers.IntegerField(help_text=_("freie Terminpaare (Erst- mit Zweittermin)"))


class AvailabilityOut(serializers.Serializer):
    computed_at = serializers.DateTimeField(help_text=_("Stand der Zahlen"))
    eligibility = EligibilityOut(allow_null=True)
    results = AvailabilityRow(many=True)


class AppointmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()


class HoldOut(serializers.Serializer):
    token = serializers.UUIDField()
    centre = Named()
    vaccine = Named()
    first = AppointmentOut()
    second = AppointmentOut(allow_null=True)
    expires_at = serializers.DateTimeField()
    extended = serializers.BooleanField()
    hotline_contingent = serializers.BooleanField(help_text=_("aus dem Kontingent der Hotline"))


class PersonOut(serializers.Serializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    birth_date = serializers.DateField()


class RegistrationOut(serializers.Serializer):
    code = serializers.CharField()
    person = PersonOut()
    priority_group = serializers.IntegerField(allow_null=True)
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()


class CentreAddress(Named):
    address = serializers.CharField()


class BookingOut(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "cancelled"])
    channel = serializers.CharField()
    person = PersonOut()
    centre = CentreAddress()
    vaccine = Named()
    first = AppointmentOut()
    second = AppointmentOut(allow_null=True)
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)


class SecondDoseOption(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    free = serializers.IntegerField()
