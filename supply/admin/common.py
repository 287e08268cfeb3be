"""Pieces the supply admin pages share."""

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from supply.models import ShortfallAlert


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the planner: staff look, nobody adds, edits or deletes by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CentreVaccineColumns:
    """Centre and vaccine by name, under German titles, in lists, filters and read-only pages."""

    @admin.display(description=_("Impfzentrum"), ordering="centre__name")
    def centre_name(self, obj):
        return obj.centre.name

    @admin.display(description=_("Impfstoff"), ordering="vaccine__name")
    def vaccine_name(self, obj):
        return obj.vaccine.name


def titled(list_filter, title):
    """A field's list filter under another title: the foreign keys to centre and vaccine have
    no German verbose_name."""

    class Titled(list_filter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


CENTRE_FILTER = ("centre", titled(admin.RelatedFieldListFilter, _("Impfzentrum")))
VACCINE_FILTER = ("vaccine", titled(admin.RelatedFieldListFilter, _("Impfstoff")))


def local_time(moment, weekday: bool = False) -> str:
    """A moment as shown in lists: "23.11.2021 14:05", or "Mo 23.11.2021 14:05"."""
    return date_format(timezone.localtime(moment), "D d.m.Y H:i" if weekday else "d.m.Y H:i")


def badge(text, tone: str):
    """A small coloured label; the text carries the meaning, the colour only repeats it."""
    return format_html('<span class="plan-badge plan-badge-{}">{}</span>', tone, text)


def open_alert_count() -> int:
    return ShortfallAlert.objects.filter(resolved_at__isnull=True).count()
