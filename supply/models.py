from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centres.models import Centre


class Vaccine(models.Model):
    code = models.SlugField(
        _("Kürzel"), max_length=20, unique=True, help_text=_("wie in den impfdashboard-Dateien")
    )
    name = models.CharField(_("Name"), max_length=100)
    doses_per_vial = models.PositiveSmallIntegerField(
        _("Dosen je Vial"), validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    doses_in_series = models.PositiveSmallIntegerField(
        _("Impfungen je Serie"), validators=[MinValueValidator(1), MaxValueValidator(2)]
    )
    interval_min_days = models.PositiveSmallIntegerField(
        _("Abstand mindestens (Tage)"), null=True, blank=True
    )
    interval_target_days = models.PositiveSmallIntegerField(_("Abstand Ziel (Tage)"), null=True, blank=True)
    interval_max_days = models.PositiveSmallIntegerField(_("Abstand höchstens (Tage)"), null=True, blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Impfstoff")
        verbose_name_plural = _("Impfstoffe")
        constraints = [
            models.CheckConstraint(
                condition=Q(doses_in_series__in=[1, 2]), name="vaccine_series_of_one_or_two"
            ),
            # A second dose needs its interval; a single-dose vaccine has none.
            models.CheckConstraint(
                condition=(
                    Q(
                        doses_in_series=2,
                        interval_min_days__isnull=False,
                        interval_min_days__gte=1,
                        interval_target_days__gte=F("interval_min_days"),
                        interval_max_days__gte=F("interval_target_days"),
                    )
                    | Q(
                        doses_in_series=1,
                        interval_min_days__isnull=True,
                        interval_target_days__isnull=True,
                        interval_max_days__isnull=True,
                    )
                ),
                name="vaccine_interval_fits_series",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def two_doses(self) -> bool:
        return self.doses_in_series == 2


class VaccineAgeRule(models.Model):
    """Who may get a vaccine from a date on; the rule with the latest `valid_from` up to a day applies."""

    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.CASCADE, related_name="age_rules", verbose_name=_("Impfstoff")
    )
    valid_from = models.DateField(_("gilt ab"))
    min_age = models.PositiveSmallIntegerField(_("Mindestalter"))
    max_age = models.PositiveSmallIntegerField(_("Höchstalter"), null=True, blank=True)
    note = models.CharField(_("Hinweis"), max_length=300, blank=True)

    class Meta:
        ordering = ["vaccine", "valid_from"]
        verbose_name = _("Altersregel")
        verbose_name_plural = _("Altersregeln")
        constraints = [
            models.UniqueConstraint(fields=["vaccine", "valid_from"], name="age_rule_one_per_day"),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True) | Q(max_age__gte=F("min_age")), name="age_rule_range"
            ),
        ]

    def __str__(self):
        upper = f"–{self.max_age}" if self.max_age is not None else "+"
        return f"{self.vaccine}: {self.min_age}{upper} ab {self.valid_from:%d.%m.%Y}"


class DeliveryUpload(models.Model):
    """An uploaded delivery file: validated and previewed first, applied only when confirmed."""

    class Format(models.TextChoices):
        OWN = "own", _("Impfportal-Format (CSV/XLSX)")
        IMPFDASHBOARD = "impfdashboard", _("impfdashboard-Lieferungen (TSV)")

    class State(models.TextChoices):
        PREVIEWED = "previewed", _("Vorschau")
        APPLIED = "applied", _("übernommen")
        DISCARDED = "discarded", _("verworfen")

    file_name = models.CharField(_("Datei"), max_length=255)
    sha256 = models.CharField(_("Prüfsumme"), max_length=64)
    file_format = models.CharField(_("Format"), max_length=20, choices=Format.choices)
    state = models.CharField(_("Status"), max_length=20, choices=State.choices, default=State.PREVIEWED)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("hochgeladen von"),
    )
    uploaded_at = models.DateTimeField(_("hochgeladen am"), auto_now_add=True)
    applied_at = models.DateTimeField(_("übernommen am"), null=True, blank=True)
    # The validated rows, normalised:
    # [{"centre": code, "vaccine": code, "date": iso, "doses": n, "status": s}, ...].
    rows = models.JSONField(_("Zeilen"), default=list)
    date_from = models.DateField(_("von"), null=True)
    date_to = models.DateField(_("bis"), null=True)
    summary = models.JSONField(_("Zusammenfassung"), default=dict)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("Liefer-Upload")
        verbose_name_plural = _("Liefer-Uploads")

    def __str__(self):
        return f"{self.file_name} ({timezone.localtime(self.uploaded_at):%d.%m.%Y %H:%M})"


class Delivery(models.Model):
    """Doses of one vaccine for one centre on one day. Negative doses are returns (impfdashboard)."""

    class Status(models.TextChoices):
        FORECAST = "forecast", _("Prognose")
        CONFIRMED = "confirmed", _("bestätigt")
        DELIVERED = "delivered", _("geliefert")
        CANCELLED = "cancelled", _("storniert")

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("Impfzentrum")
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("Impfstoff")
    )
    date = models.DateField(_("Datum"))
    doses = models.IntegerField(_("Dosen"))
    status = models.CharField(_("Status"), max_length=20, choices=Status.choices)
    upload = models.ForeignKey(
        DeliveryUpload,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("Upload"),
    )
    updated_at = models.DateTimeField(_("geändert am"), auto_now=True)

    class Meta:
        ordering = ["date", "centre", "vaccine"]
        verbose_name = _("Lieferung")
        verbose_name_plural = _("Lieferungen")
        constraints = [
            models.UniqueConstraint(fields=["centre", "vaccine", "date"], name="delivery_one_per_day"),
        ]
        indexes = [models.Index(fields=["centre", "vaccine", "date"], name="delivery_stock_idx")]

    def __str__(self):
        return f"{self.date:%d.%m.%Y} {self.centre.code} {self.vaccine.code}: {self.doses}"


class DeliveryRevision(models.Model):
    """Every change of a delivery: what it was, what it became, who and which upload."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="revisions")
    upload = models.ForeignKey(DeliveryUpload, on_delete=models.PROTECT, null=True, related_name="revisions")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("geändert am"), auto_now_add=True)
    old_doses = models.IntegerField(_("Dosen vorher"), null=True)
    old_status = models.CharField(_("Status vorher"), max_length=20, blank=True)
    new_doses = models.IntegerField(_("Dosen nachher"))
    new_status = models.CharField(_("Status nachher"), max_length=20)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("Änderung einer Lieferung")
        verbose_name_plural = _("Änderungen von Lieferungen")

    def __str__(self):
        changed = timezone.localtime(self.changed_at)
        return f"{self.delivery}: {self.old_doses} → {self.new_doses} ({changed:%d.%m.%Y %H:%M})"


class DistributionKey(models.Model):
    """How state-level deliveries (impfdashboard) are split across centres: relative weights."""

    centre = models.OneToOneField(
        Centre, on_delete=models.CASCADE, related_name="distribution_key", verbose_name=_("Impfzentrum")
    )
    weight = models.PositiveIntegerField(
        _("Gewicht"), help_text=_("Anteil an Landeslieferungen, relativ zu den anderen Zentren.")
    )

    class Meta:
        ordering = ["centre"]
        verbose_name = _("Verteilschlüssel")
        verbose_name_plural = _("Verteilschlüssel")

    def __str__(self):
        return f"{self.centre.code}: {self.weight}"


class PlanningSettings(models.Model):
    """The planner's settings; one row (pk=1)."""

    forecast_share_percent = models.PositiveSmallIntegerField(
        _("Anteil der Prognosen in Prozent"),
        default=80,
        validators=[MaxValueValidator(100)],
        help_text=_("So viel einer prognostizierten Lieferung zählt der Planer als Bestand."),
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("Planungshorizont (Tage)"), default=140, validators=[MinValueValidator(7), MaxValueValidator(400)]
    )

    class Meta:
        verbose_name = _("Planungseinstellungen")
        verbose_name_plural = _("Planungseinstellungen")

    def __str__(self):
        return str(_("Planungseinstellungen"))

    @classmethod
    def load(cls) -> "PlanningSettings":
        return cls.objects.get_or_create(pk=1)[0]


class PlanRun(models.Model):
    """One run of the planner: progress while it runs, its report when done."""

    class State(models.TextChoices):
        QUEUED = "queued", _("wartet")
        RUNNING = "running", _("läuft")
        DONE = "done", _("fertig")
        FAILED = "failed", _("fehlgeschlagen")

    state = models.CharField(_("Status"), max_length=20, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(_("Anlass"), max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("angefordert von"),
    )
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)
    started_at = models.DateTimeField(_("begonnen"), null=True, blank=True)
    finished_at = models.DateTimeField(_("beendet"), null=True, blank=True)
    progress_percent = models.PositiveSmallIntegerField(_("Fortschritt (%)"), default=0)
    progress_text = models.CharField(_("Stand"), max_length=200, blank=True)
    plan_from = models.DateField(_("geplant ab"), null=True, blank=True)
    plan_to = models.DateField(_("geplant bis"), null=True, blank=True)
    created = models.PositiveIntegerField(_("neue Termine"), default=0)
    withdrawn = models.PositiveIntegerField(_("zurückgezogene Termine"), default=0)
    report = models.JSONField(_("Bericht"), default=dict)
    error = models.TextField(_("Fehler"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Planungslauf")
        verbose_name_plural = _("Planungsläufe")

    def __str__(self):
        return f"{timezone.localtime(self.created_at):%d.%m.%Y %H:%M} – {self.get_state_display()}"


class Appointment(models.Model):
    """One appointment for one person. A first dose of a two-dose vaccine is created with its
    reserved second dose (`second`); the pair is offered, held and booked as one.

    `bookable_from` is set when a release is scheduled: the appointment is bookable from then on
    (null: planned, not released, the planner may still replace it). `hotline_only` marks the
    pairs a release keeps back for the hotline. `booked` and the claim fields are written by the
    booking app only.
    """

    # No database constraint (and no index of their own) for centre and vaccine: with 2.5 million
    # rows written per season in bulk, their per-row checks made the planner's writes four times
    # slower (docs/performance.md). Centres and vaccines are never deleted (PROTECT, checked by
    # Django), and only the planner inserts, with ids it has just read under the centre's lock.
    # The link between a pair's two appointments keeps its constraint: a booking depends on it.
    centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        related_name="appointments",
        db_constraint=False,
        db_index=False,
        verbose_name=_("Impfzentrum"),
    )
    vaccine = models.ForeignKey(
        Vaccine,
        on_delete=models.PROTECT,
        related_name="appointments",
        db_constraint=False,
        db_index=False,
        verbose_name=_("Impfstoff"),
    )
    starts_at = models.DateTimeField(_("Beginn"))
    dose = models.PositiveSmallIntegerField(_("Impfung"), choices=[(1, _("erste")), (2, _("zweite"))])
    second = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="first",
        verbose_name=_("Zweittermin"),
    )
    bookable_from = models.DateTimeField(_("buchbar ab"), null=True, blank=True)
    hotline_only = models.BooleanField(_("nur über die Hotline"), default=False, db_default=False)
    booked = models.BooleanField(_("gebucht"), default=False)
    claim_token = models.UUIDField(_("Reservierung"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("reserviert bis"), null=True, blank=True)

    class Meta:
        verbose_name = _("Termin")
        verbose_name_plural = _("Termine")
        constraints = [
            models.CheckConstraint(condition=Q(dose__in=[1, 2]), name="appointment_dose_one_or_two"),
            models.CheckConstraint(
                condition=Q(dose=1) | Q(second__isnull=True), name="appointment_only_first_has_second"
            ),
        ]
        indexes = [
            # Claiming the next free first dose at a centre, vaccine and time is a range scan of
            # this index (booking: SELECT ... ORDER BY starts_at FOR UPDATE SKIP LOCKED).
            models.Index(
                fields=["centre", "vaccine", "starts_at"],
                condition=Q(dose=1, booked=False),
                name="appointment_free_first_idx",
            ),
            models.Index(
                fields=["centre", "vaccine", "starts_at"],
                condition=Q(dose=2, booked=False),
                name="appointment_free_second_idx",
            ),
            models.Index(fields=["centre", "starts_at"], name="appointment_centre_time_idx"),
        ]

    def __str__(self):
        starts = timezone.localtime(self.starts_at)
        return f"{self.centre.code} {self.vaccine.code} {starts:%d.%m.%Y %H:%M} ({self.dose}.)"


class ShortfallAlert(models.Model):
    """Booked or released doses that deliveries no longer cover after a forecast cut."""

    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="shortfall_alerts", verbose_name=_("Impfzentrum")
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="shortfall_alerts", verbose_name=_("Impfstoff")
    )
    first_short_day = models.DateField(_("erster Tag ohne Deckung"))
    doses_short = models.PositiveIntegerField(_("fehlende Dosen"))
    plan_run = models.ForeignKey(
        PlanRun, on_delete=models.CASCADE, related_name="shortfall_alerts", verbose_name=_("Planungslauf")
    )
    appointments = models.ManyToManyField(
        Appointment, related_name="shortfall_alerts", verbose_name=_("Termine")
    )
    created_at = models.DateTimeField(_("gemeldet am"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("erledigt am"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Fehlmengen-Warnung")
        verbose_name_plural = _("Fehlmengen-Warnungen")

    def __str__(self):
        return (
            f"{self.centre.code} {self.vaccine.code}: {self.doses_short} ab {self.first_short_day:%d.%m.%Y}"
        )


class CentrePlanState(models.Model):
    """A centre's appointments as the planner left them after its last run, so that the next run
    need not aggregate them again (docs/performance.md).

    `appointments` holds, from `window_start` on, rows of (vaccine, starts_at in epoch seconds,
    dose, count); `pairs` the unreleased, unbooked pairs by (vaccine, first, second or -1,
    count); `before` the appointments before `window_start` per vaccine. Only the planner
    inserts and deletes appointments; releases forget their centres' state
    (supply.services.plan_state.forget). `total` lets a run check it before trusting it.
    """

    centre = models.OneToOneField(
        Centre, on_delete=models.CASCADE, primary_key=True, verbose_name=_("Impfzentrum")
    )
    window_start = models.DateTimeField(_("ab"))
    total = models.BigIntegerField(_("Termine ab da"))
    before = models.JSONField(_("Termine davor je Impfstoff"))
    appointments = models.BinaryField(_("Termine"))
    pairs = models.BinaryField(_("ersetzbare Paare"))
    updated_at = models.DateTimeField(_("aktualisiert"), auto_now=True)

    class Meta:
        verbose_name = _("Planungsstand")
        verbose_name_plural = _("Planungsstände")

    def __str__(self):
        return f"{self.centre_id}: {self.total} ab {self.window_start:%Y-%m-%d}"
