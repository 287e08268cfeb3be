"""Admin of the booking app: staff open priority groups; bookings and registrations are
looked at, not edited (citizens and the hotline change them through the services)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from booking.codes import format_code
from booking.models import Booking, PriorityGroup, Registration
from supply.admin.common import ReadOnlyAdmin, badge


@admin.register(PriorityGroup)
class PriorityGroupAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "min_age", "open_from_shown"]
    list_display_links = ["number", "name"]
    ordering = ["number"]
    fields = ["number", "name", "min_age", "open_from", "declaration"]

    @admin.display(description=_("offen ab"), ordering="open_from")
    def open_from_shown(self, group):
        if group.open_from is None:
            return badge(_("noch nicht offen"), "quiet")
        if group.open_from > timezone.localdate():
            return badge(date_format(group.open_from, "d.m.Y"), "info")
        return badge(date_format(group.open_from, "d.m.Y"), "good")


def _when(moment):
    return date_format(timezone.localtime(moment), "D d.m.Y H:i")


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    """Bookings by code; staff see the person's name and birth date only on the detail page."""

    list_display = [
        "code_shown",
        "centre",
        "vaccine",
        "first_at",
        "second_at",
        "status",
        "channel",
        "created_at",
    ]
    list_filter = ["status", "channel", ("first__centre", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=code"]
    list_select_related = ["first__centre", "first__vaccine", "second"]
    ordering = ["-created_at"]
    show_full_result_count = False
    fields = [
        "code_shown",
        "status",
        "channel",
        "agent",
        "person_shown",
        "centre",
        "vaccine",
        "first_at",
        "second_at",
        "created_at",
        "changed_at",
        "cancelled_at",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, "".join(search_term.upper().split("-")))

    @admin.display(description=_("Buchungscode"), ordering="code")
    def code_shown(self, booking):
        return format_code(booking.code)

    @admin.display(description=_("Person"))
    def person_shown(self, booking):
        person = booking.person
        return f"{person.first_name} {person.last_name}, {date_format(person.birth_date, 'd.m.Y')}"

    @admin.display(description=_("Impfzentrum"), ordering="first__centre__name")
    def centre(self, booking):
        return booking.first.centre.name

    @admin.display(description=_("Impfstoff"), ordering="first__vaccine__name")
    def vaccine(self, booking):
        return booking.first.vaccine.name

    @admin.display(description=_("1. Impfung"), ordering="first__starts_at")
    def first_at(self, booking):
        return _when(booking.first.starts_at)

    @admin.display(description=_("2. Impfung"))
    def second_at(self, booking):
        return _when(booking.second.starts_at) if booking.second_id else "–"


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ["code_shown", "channel", "priority_group", "created_at"]
    list_filter = ["channel"]
    search_fields = ["=code"]
    ordering = ["-created_at"]
    fields = ["code_shown", "channel", "agent", "priority_group", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("Registrierungscode"), ordering="code")
    def code_shown(self, registration):
        return format_code(registration.code)
