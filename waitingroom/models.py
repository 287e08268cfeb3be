"""Releases of planned appointments, and the waiting room in front of each.

A release makes the planned appointments in its scope (centres, vaccines, days) bookable from
its opening (`supply.Appointment.bookable_from`), keeping a contingent back for the hotline.
While it is active (pre-queue or open), the booking pages admit only people the waiting room has
called: each visitor joins with a ticket (a numbered row, signed into a cookie); a periodic tick
calls tickets in place order as booking capacity frees up and publishes one shared queue state
that every waiting browser compares with its own ticket.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centres.models import Centre
from supply.models import Vaccine


class Release(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("geplant")
        PREQUEUE = "prequeue", _("Vorwarteschlange")
        OPEN = "open", _("geöffnet")
        SOLD_OUT = "sold_out", _("ausgebucht")
        CLOSED = "closed", _("Warteraum beendet")

    ACTIVE = (Status.PREQUEUE, Status.OPEN)  # the booking pages need an admission

    name = models.CharField(_("Name"), max_length=100)
    centres = models.ManyToManyField(
        Centre, blank=True, verbose_name=_("Impfzentren"), help_text=_("leer: alle Impfzentren")
    )
    vaccines = models.ManyToManyField(
        Vaccine, blank=True, verbose_name=_("Impfstoffe"), help_text=_("leer: alle Impfstoffe")
    )
    first_day = models.DateField(_("Termine vom"))
    last_day = models.DateField(_("Termine bis"))
    opens_at = models.DateTimeField(_("Öffnung"), help_text=_("Ab dann sind die Termine buchbar."))
    prequeue_minutes = models.PositiveIntegerField(
        _("Vorwarteschlange (Minuten)"),
        default=60,
        help_text=_(
            "So lange vor der Öffnung kann man sich anstellen; die Plätze werden bei der Öffnung verlost."
        ),
    )
    hotline_percent = models.PositiveSmallIntegerField(
        _("Hotline-Kontingent (%)"), default=10, help_text=_("Anteil der Terminpaare nur für die Hotline")
    )
    hotline_count = models.PositiveIntegerField(
        _("Hotline-Kontingent (Paare)"),
        null=True,
        blank=True,
        help_text=_("feste Zahl von Terminpaaren nur für die Hotline; wenn gesetzt, statt des Anteils"),
    )
    admission_limit = models.PositiveIntegerField(_("Personen gleichzeitig in der Buchung"), default=4000)
    admission_minutes = models.PositiveSmallIntegerField(
        _("Einlass gilt (Minuten)"),
        default=20,
        help_text=_("So lange hat man nach dem Aufruf Zeit zu buchen."),
    )
    status = models.CharField(_("Status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    pairs = models.PositiveIntegerField(_("freigegebene Terminpaare"), default=0)
    hotline_pairs = models.PositiveIntegerField(_("davon für die Hotline"), default=0)
    # The queue: tickets are numbered 1, 2, ... as people join (`joined` is the last number).
    # At the opening the first `prequeue_size` numbers are shuffled with `draw_seed`
    # (selectors.place); later numbers keep arrival order. Places up to `called_up_to` are called.
    joined = models.PositiveIntegerField(_("angestellt"), default=0)
    prequeue_size = models.PositiveIntegerField(_("in der Vorwarteschlange"), null=True, blank=True)
    draw_seed = models.BigIntegerField(null=True, blank=True, editable=False)
    called_up_to = models.PositiveIntegerField(_("aufgerufen bis Platz"), default=0)
    state = models.JSONField(default=dict, editable=False)  # the shared queue state (selectors)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("angelegt von"),
    )
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)
    closed_at = models.DateTimeField(_("beendet"), null=True, blank=True)

    class Meta:
        ordering = ["-opens_at"]
        verbose_name = _("Freigabe")
        verbose_name_plural = _("Freigaben")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=models.F("last_day")), name="release_days_in_order"
            ),
            models.CheckConstraint(condition=Q(hotline_percent__lte=100), name="release_hotline_percent"),
            models.CheckConstraint(condition=Q(admission_limit__gte=1), name="release_admission_limit"),
            models.CheckConstraint(condition=Q(admission_minutes__gte=1), name="release_admission_minutes"),
        ]

    def __str__(self):
        return self.name

    @property
    def prequeue_from(self):
        return self.opens_at - timedelta(minutes=self.prequeue_minutes)


class Ticket(models.Model):
    """One place in a release's queue. `number` is the order of joining; `place` is fixed at the
    opening (drawn for the pre-queue) or at joining after it. A ticket is called (`called_at`,
    with `admission_until`), entered (an admission cookie was issued) and used by one booking."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="tickets")
    number = models.PositiveIntegerField(_("Nummer"))
    place = models.PositiveIntegerField(_("Platz"), null=True, blank=True)
    code = models.CharField(_("Wartenummer"), max_length=9)
    client = models.CharField(max_length=16, help_text="keyed hash of the client address (rate limit)")
    created_at = models.DateTimeField(_("angestellt"), default=timezone.now)
    called_at = models.DateTimeField(_("aufgerufen"), null=True, blank=True)
    admission_until = models.DateTimeField(_("Einlass bis"), null=True, blank=True)
    entered_at = models.DateTimeField(_("eingelassen"), null=True, blank=True)
    used_at = models.DateTimeField(_("gebucht"), null=True, blank=True)
    booking = models.OneToOneField(
        "booking.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("Wartenummer")
        verbose_name_plural = _("Wartenummern")
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="ticket_number_unique"),
            models.UniqueConstraint(fields=["release", "code"], name="ticket_code_unique"),
        ]
        indexes = [
            models.Index(fields=["release", "place"], name="ticket_place_idx"),
            models.Index(fields=["release", "client", "created_at"], name="ticket_client_idx"),
            # The tick counts who is in the booking process: called, not used, admission running.
            models.Index(
                fields=["release", "admission_until"],
                condition=Q(called_at__isnull=False, used_at__isnull=True),
                name="ticket_in_process_idx",
            ),
        ]

    def __str__(self):
        return f"{self.release} #{self.number}"
