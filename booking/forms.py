"""Forms of the public booking pages. Every message is German (translatable) and says how to
put the input right; the templates show it next to the field and in a summary at the top."""

import re
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking.codes import ALPHABET, CODE_LENGTH, clean_code
from booking.selectors import age_on
from centres.geo import validate_postcode

OLDEST_AGE = 120
_DATE_PARTS = re.compile(r"\s*(\d{1,2})\s*[.\s/-]\s*(\d{1,2})\s*[.\s/-]\s*(\d{2,4})\s*\.?\s*")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")
# Digits with the usual separators; "+49" or "0" first.
_PHONE = re.compile(r"\+?[0-9][0-9 ()/\-]*")


def parse_birth_date(text: str) -> date:
    """A birth date as people type it (17.05.1938, 17.5.1938, 17 5 1938, 1938-05-17);
    raises ValidationError with a message that says what is wrong."""
    if match := _DATE_PARTS.fullmatch(text):
        day, month, year = match.groups()
    elif match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    else:
        raise ValidationError(
            _("Bitte geben Sie Ihr Geburtsdatum als Tag.Monat.Jahr ein, zum Beispiel 17.05.1938."),
            code="format",
        )
    if len(year) != 4:
        raise ValidationError(
            _("Bitte geben Sie das Geburtsjahr mit vier Ziffern an, zum Beispiel 1938."), code="year"
        )
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(
            _("Diesen Tag gibt es nicht. Bitte prüfen Sie Tag und Monat."), code="impossible"
        ) from None
    return check_birth_date(born)


def check_birth_date(born: date) -> date:
    """A birth date is not in the future and not implausibly long ago (ValidationError)."""
    today = timezone.localdate()
    if born > today:
        raise ValidationError(_("Das Geburtsdatum liegt in der Zukunft. Bitte prüfen Sie es."), code="future")
    if age_on(born, today) > OLDEST_AGE:
        raise ValidationError(
            _("Bitte prüfen Sie das Geburtsjahr: Sie wären älter als %(age)s Jahre."),
            code="too_old",
            params={"age": OLDEST_AGE},
        )
    return born


class BirthDateField(forms.CharField):
    """One clearly labelled text field (format hint in the template) that cleans to a date."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Geburtsdatum"))
        kwargs.setdefault("help_text", _("Tag.Monat.Jahr, zum Beispiel 17.05.1938"))
        kwargs.setdefault("error_messages", {"required": _("Bitte geben Sie Ihr Geburtsdatum ein.")})
        super().__init__(max_length=20, **kwargs)
        self.widget.attrs.update({"autocomplete": "bday", "class": "input--medium", "spellcheck": "false"})

    def prepare_value(self, value):
        return value.strftime("%d.%m.%Y") if isinstance(value, date) else value

    def clean(self, value):
        text = super().clean(value)
        return parse_birth_date(text) if text else text


class PostcodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Postleitzahl"))
        kwargs.setdefault("error_messages", {"required": _("Bitte geben Sie Ihre Postleitzahl ein.")})
        super().__init__(max_length=10, validators=[validate_postcode], **kwargs)
        self.widget.attrs.update(
            {"autocomplete": "postal-code", "inputmode": "numeric", "class": "input--short"}
        )

    def clean(self, value):
        return validate_postcode(super().clean(value))


class CodeField(forms.CharField):
    """A booking or registration code as typed: any case, with spaces or dashes."""

    def __init__(self, *, label, **kwargs):
        super().__init__(label=label, max_length=30, **kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        )

    def clean(self, value):
        code = clean_code(super().clean(value) or "")
        if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
            raise ValidationError(
                _(
                    "Ein Code hat 10 Zeichen, zum Beispiel ACDE-FHJK-MN. Bitte prüfen Sie ihn; "
                    "die Ziffern 0, 1, 2, 5 und 8 kommen darin nicht vor."
                ),
                code="code_format",
            )
        return code


class EligibilityForm(forms.Form):
    """Step 1: birth date, optionally a priority group by occupation or condition, postcode."""

    NO_GROUP = ""

    birth_date = BirthDateField()
    group = forms.TypedChoiceField(
        label=_("Gehören Sie wegen Ihres Berufs oder einer Erkrankung zu einer Gruppe?"),
        widget=forms.RadioSelect,
        required=False,
        coerce=int,
        empty_value=None,
    )
    postcode = PostcodeField(help_text=_("Wir zeigen Ihnen die Impfzentren in Ihrer Nähe zuerst."))

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(self.NO_GROUP, _("Nein, ich buche wegen meines Alters."))]
        choices += [
            (
                group.number,
                _("Ja, Gruppe %(number)s: %(text)s") % {"number": group.number, "text": group.declaration},
            )
            for group in groups
            if group.declaration
        ]
        self.fields["group"].choices = choices
        self.fields["group"].initial = self.NO_GROUP


def validate_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if not _PHONE.fullmatch(value) or not 6 <= len(digits) <= 15:
        raise ValidationError(
            _("Bitte geben Sie eine Telefonnummer aus Ziffern an, zum Beispiel 0351 1234567."), code="phone"
        )
    return value


class PersonForm(forms.Form):
    """Name and how to reach the person (e-mail and/or phone); the birth date comes from step 1."""

    first_name = forms.CharField(
        label=_("Vorname"),
        max_length=100,
        error_messages={"required": _("Bitte geben Sie Ihren Vornamen ein.")},
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "spellcheck": "false"}),
    )
    last_name = forms.CharField(
        label=_("Nachname"),
        max_length=100,
        error_messages={"required": _("Bitte geben Sie Ihren Nachnamen ein.")},
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        required=False,
        help_text=_("An diese Adresse schicken wir die Bestätigung mit beiden Terminen."),
        error_messages={"invalid": _("Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de ein.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Telefonnummer"),
        max_length=30,
        required=False,
        help_text=_("Falls sich an Ihrem Termin etwas ändert, rufen wir Sie an."),
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    postcode = PostcodeField()

    def clean(self):
        cleaned = super().clean()
        if (
            not cleaned.get("email")
            and not cleaned.get("phone")
            and "email" not in self.errors
            and "phone" not in self.errors
        ):
            self.add_error(
                "email", _("Bitte geben Sie eine E-Mail-Adresse oder eine Telefonnummer an (oder beides).")
            )
        return cleaned


class RegistrationCodeForm(forms.Form):
    """Instead of the data form: the code of a registration made by phone or online."""

    registration_code = CodeField(
        label=_("Registrierungscode"),
        help_text=_("10 Zeichen, zum Beispiel ACDE-FHJK-MN"),
        error_messages={"required": _("Bitte geben Sie Ihren Registrierungscode ein.")},
    )


class RegisterForm(PersonForm):
    """The online registration: the person's data, birth date included, and an optional group."""

    field_order = ["first_name", "last_name", "birth_date", "email", "phone", "postcode", "group"]

    birth_date = BirthDateField()
    group = EligibilityForm.base_fields["group"]

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = EligibilityForm(groups=groups).fields["group"].choices


class ManageForm(forms.Form):
    code = CodeField(
        label=_("Buchungscode"),
        help_text=_("10 Zeichen, steht in Ihrer Bestätigung, zum Beispiel ACDE-FHJK-MN"),
        error_messages={"required": _("Bitte geben Sie Ihren Buchungscode ein.")},
    )
    birth_date = BirthDateField()


class TimeChoiceForm(forms.Form):
    """A time picked from a list of offered times (`choices`: datetimes); anything else, such
    as an edited page, is refused with a message instead of an error page."""

    time = forms.CharField()

    def __init__(self, *args, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {time_value(moment): moment for moment in offered}

    def clean_time(self):
        moment = self.offered.get(self.cleaned_data["time"])
        if moment is None:
            raise ValidationError(
                _("Diese Uhrzeit ist nicht (mehr) frei. Bitte wählen Sie eine der angezeigten Zeiten.")
            )
        return moment


def time_value(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
