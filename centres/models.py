from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Centre(models.Model):
    """A vaccination centre. Capacity: `lanes` people every `minutes_per_vaccination` minutes."""

    code = models.CharField(
        _("Kürzel"),
        max_length=8,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z]{2}[0-9]{2}$", _("Zwei Großbuchstaben und zwei Ziffern, z. B. DD01."))
        ],
    )
    name = models.CharField(_("Name"), max_length=100)
    venue = models.CharField(_("Veranstaltungsort"), max_length=200)
    street = models.CharField(_("Straße"), max_length=200)
    postcode = models.CharField(
        _("Postleitzahl"), max_length=5, validators=[RegexValidator(r"^[0-9]{5}$", _("Fünf Ziffern."))]
    )
    town = models.CharField(_("Ort"), max_length=100)
    latitude = models.DecimalField(_("Breitengrad"), max_digits=8, decimal_places=5)
    longitude = models.DecimalField(_("Längengrad"), max_digits=8, decimal_places=5)
    lanes = models.PositiveSmallIntegerField(
        _("Impfstraßen"), validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    minutes_per_vaccination = models.PositiveSmallIntegerField(
        _("Minuten je Impfung und Impfstraße"),
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Zeittakt der Termine: je Takt und Impfstraße ein Termin."),
    )
    active = models.BooleanField(_("aktiv"), default=True)
    notes = models.TextField(_("Hinweise"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Impfzentrum")
        verbose_name_plural = _("Impfzentren")
        constraints = [
            models.CheckConstraint(condition=Q(lanes__gte=1), name="centre_lanes_positive"),
            models.CheckConstraint(
                condition=Q(minutes_per_vaccination__gte=1), name="centre_minutes_per_vaccination_positive"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class OpeningHours(models.Model):
    """One opening interval on a weekday; a day may have several (e.g. around a break)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Montag")
        TUESDAY = 1, _("Dienstag")
        WEDNESDAY = 2, _("Mittwoch")
        THURSDAY = 3, _("Donnerstag")
        FRIDAY = 4, _("Freitag")
        SATURDAY = 5, _("Samstag")
        SUNDAY = 6, _("Sonntag")

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("Wochentag"), choices=Weekday.choices)
    opens = models.TimeField(_("öffnet"))
    closes = models.TimeField(_("schließt"))

    class Meta:
        ordering = ["centre", "weekday", "opens"]
        verbose_name = _("Öffnungszeit")
        verbose_name_plural = _("Öffnungszeiten")
        constraints = [
            models.UniqueConstraint(fields=["centre", "weekday", "opens"], name="opening_hours_unique_start"),
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")), name="opening_hours_closes_after_opens"
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """A day on which a centre stays closed (holiday, no vaccine, building works)."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("Datum"))
    reason = models.CharField(_("Grund"), max_length=200)

    class Meta:
        ordering = ["date"]
        verbose_name = _("Schließtag")
        verbose_name_plural = _("Schließtage")
        constraints = [models.UniqueConstraint(fields=["centre", "date"], name="closure_unique_day")]

    def __str__(self):
        return f"{self.date:%d.%m.%Y}: {self.reason}"
