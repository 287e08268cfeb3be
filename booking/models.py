"""Who may book (priority groups), who booked (people, registrations) and what (holds, bookings).

The appointments themselves are supply's (one row per appointment). A hold claims both
appointments of a pair by writing `claim_token` and `claimed_until` on them; a booking sets
their `booked` flag. Those two columns are what availability reads, so a hold or a booking is
visible to every other claim at once, and an expired hold needs no job to end it.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supply.models import Appointment


class Channel(models.TextChoices):
    """How someone registered or booked: on the website, or through the hotline's agents."""

    ONLINE = "online", _("online")
    HOTLINE = "hotline", _("Hotline")


class PriorityGroup(models.Model):
    """A group of the Coronavirus-Impfverordnung: open for booking from a date, by age or by
    self-declaration (occupation or condition; the proof is checked at the centre)."""

    number = models.PositiveSmallIntegerField(_("Gruppe"), unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=100)
    min_age = models.PositiveSmallIntegerField(
        _("Alter ab"), null=True, blank=True, help_text=_("leer: nur durch Selbstauskunft")
    )
    open_from = models.DateField(
        _("offen ab"), null=True, blank=True, help_text=_("leer: noch nicht zur Buchung offen")
    )
    declaration = models.TextField(
        _("Selbstauskunft"),
        blank=True,
        help_text=_("Berufe und Erkrankungen, mit denen man unabhängig vom Alter zu dieser Gruppe gehört"),
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("Prioritätsgruppe")
        verbose_name_plural = _("Prioritätsgruppen")

    def __str__(self):
        return f"{self.number}: {self.name}"


class Person(models.Model):
    """Someone who registered or booked. `identity` is name and birth date normalised (case,
    accents, spacing): the key of DESIGN invariant 6."""

    first_name = models.CharField(_("Vorname"), max_length=100)
    last_name = models.CharField(_("Nachname"), max_length=100)
    birth_date = models.DateField(_("Geburtsdatum"))
    email = models.EmailField(_("E-Mail"), blank=True)
    phone = models.CharField(_("Telefon"), max_length=30, blank=True)
    postcode = models.CharField(_("Postleitzahl"), max_length=5)
    identity = models.CharField(_("Identität (normalisiert)"), max_length=250, db_index=True)
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)

    class Meta:
        verbose_name = _("Person")
        verbose_name_plural = _("Personen")
        constraints = [
            models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""), name="person_email_or_phone"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"


class Registration(models.Model):
    """A registration by phone or online; its code lets the person book online later without
    entering their data again."""

    code = models.CharField(_("Registrierungscode"), max_length=12, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="registrations", verbose_name=_("Person")
    )
    channel = models.CharField(_("Weg"), max_length=10, choices=Channel.choices)
    priority_group = models.ForeignKey(
        PriorityGroup, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("Gruppe")
    )
    agent = models.CharField(_("Mitarbeiter/in"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)

    class Meta:
        verbose_name = _("Registrierung")
        verbose_name_plural = _("Registrierungen")

    def __str__(self):
        return self.code


class Hold(models.Model):
    """A pair held for one person for a few minutes. The claim itself lives on the appointment
    rows (claim_token = token, claimed_until = expires_at); this row records it and, once
    confirmed, the booking it became (a second confirm returns that booking)."""

    token = models.UUIDField(_("Token"), unique=True)
    first = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="+", verbose_name=_("Erstimpfung")
    )
    second = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("Zweitimpfung"),
    )
    owner = models.CharField(_("für"), max_length=100)
    expires_at = models.DateTimeField(_("gilt bis"))
    extended = models.BooleanField(_("verlängert"), default=False)
    released_at = models.DateTimeField(_("freigegeben"), null=True, blank=True)
    booking = models.OneToOneField(
        "Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="hold"
    )
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)

    class Meta:
        verbose_name = _("Reservierung")
        verbose_name_plural = _("Reservierungen")
        indexes = [
            models.Index(fields=["expires_at"], name="hold_expires_idx"),
            # A new hold ends the owner's open ones: without this index that lookup read every
            # hold row, 60 ms per hold after a few thousand bookings.
            models.Index(
                fields=["owner"],
                condition=Q(booking__isnull=True, released_at__isnull=True),
                name="hold_open_owner_idx",
            ),
        ]

    def __str__(self):
        return str(self.token)

    @property
    def appointment_ids(self) -> list[int]:
        return [i for i in (self.first_id, self.second_id) if i is not None]


class Booking(models.Model):
    """A booked series: both appointments of a pair (one for a single-dose vaccine)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("gebucht")
        CANCELLED = "cancelled", _("storniert")

    code = models.CharField(_("Buchungscode"), max_length=12, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("Person")
    )
    # The person's identity at booking time: the partial unique index below keeps one active
    # booking per person even when the same person was entered twice (DESIGN invariant 6).
    identity = models.CharField(_("Identität (normalisiert)"), max_length=250)
    first = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="+", verbose_name=_("Erstimpfung")
    )
    second = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("Zweitimpfung"),
    )
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    channel = models.CharField(_("Weg"), max_length=10, choices=Channel.choices)
    agent = models.CharField(_("Mitarbeiter/in"), max_length=100, blank=True)
    language = models.CharField(_("Sprache"), max_length=5, default="de")
    created_at = models.DateTimeField(_("gebucht am"), auto_now_add=True)
    changed_at = models.DateTimeField(_("geändert am"), auto_now=True)
    cancelled_at = models.DateTimeField(_("storniert am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Buchung")
        verbose_name_plural = _("Buchungen")
        constraints = [
            # An appointment is booked at most once (DESIGN invariant 1), a person has at most
            # one active series (invariant 6): in the database, whatever the code above does.
            models.UniqueConstraint(
                fields=["first"], condition=Q(status="active"), name="booking_first_once"
            ),
            models.UniqueConstraint(
                fields=["second"], condition=Q(status="active"), name="booking_second_once"
            ),
            models.UniqueConstraint(
                fields=["identity"], condition=Q(status="active"), name="booking_one_per_person"
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def appointment_ids(self) -> list[int]:
        return [i for i in (self.first_id, self.second_id) if i is not None]

    @property
    def masked_code(self) -> str:
        """The code with all but its last three characters hidden, for telling someone that a
        booking exists without giving it away."""
        return "•" * (len(self.code) - 3) + self.code[-3:]


class OverviewSnapshot(models.Model):
    """The live overview's numbers as last computed (one row): every web process reads this row
    at most once a second and recomputes it, under its row lock, only when it is older than
    OVERVIEW_SECONDS, so that the count runs once per interval however many people look
    (booking/services/overview.py)."""

    computed_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    def __str__(self):
        return f"overview of {self.computed_at:%Y-%m-%d %H:%M:%S}"
