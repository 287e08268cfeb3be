"""Admin of what the planner wrote: shortfall alerts and the (read-only) appointments."""

import calendar
import json
from dataclasses import dataclass
from datetime import date

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Max, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from supply.admin.common import (
    CENTRE_FILTER,
    VACCINE_FILTER,
    CentreVaccineColumns,
    ReadOnlyAdmin,
    badge,
    local_time,
    open_alert_count,
)
from supply.models import Appointment, ShortfallAlert

AFFECTED_GROUPS = 100  # times listed on an alert's page; all appointments behind a link


# --- Shortfall alerts -----------------------------------------------------------------------


class AlertStateFilter(admin.SimpleListFilter):
    title = _("Status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", _("offen")), ("resolved", _("erledigt"))]

    def queryset(self, request, queryset):
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


@admin.register(ShortfallAlert)
class ShortfallAlertAdmin(CentreVaccineColumns, ReadOnlyAdmin):
    list_display = ["centre_name", "vaccine_name", "first_day", "doses_short", "state", "created_on"]
    list_display_links = ["centre_name", "vaccine_name"]
    list_filter = [AlertStateFilter, CENTRE_FILTER, VACCINE_FILTER]
    list_select_related = ["centre", "vaccine"]
    # Open alerts first, then the most recently resolved.
    ordering = [F("resolved_at").desc(nulls_first=True), "-created_at"]
    fields = [
        "centre_name",
        "vaccine_name",
        "first_short_day",
        "doses_short",
        "state",
        "plan_run_link",
        "created_at",
        "resolved_at",
    ]
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        count = open_alert_count()
        title = ngettext(
            "Fehlmengen-Warnungen: %(count)d offen",
            "Fehlmengen-Warnungen: %(count)d offen",
            count,
        ) % {"count": count}
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(affected_appointments(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("Status"), ordering="resolved_at")
    def state(self, alert):
        if alert.resolved_at is None:
            return badge(_("offen"), "bad")
        return badge(_("erledigt"), "quiet")

    @admin.display(description=_("ohne Deckung ab"), ordering="first_short_day")
    def first_day(self, alert):
        return f"{alert.first_short_day:%d.%m.%Y}"

    @admin.display(description=_("gemeldet am"), ordering="created_at")
    def created_on(self, alert):
        return local_time(alert.created_at)

    @admin.display(description=_("Planungslauf"))
    def plan_run_link(self, alert):
        url = reverse("admin:supply_planrun_change", args=[alert.plan_run_id])
        return format_html('<a href="{}">{}</a>', url, local_time(alert.plan_run.created_at))


@dataclass
class AffectedGroup:
    """Affected appointments at one time with the same dose and state."""

    starts_at: object
    dose: str
    released: bool
    booked: bool
    count: int


def affected_appointments(alert: ShortfallAlert) -> dict:
    """An alert's appointments grouped by time (the first AFFECTED_GROUPS times), their
    numbers, and a link to all of them in the appointment list."""
    appointments = alert.appointments.all()
    doses = dict(Appointment._meta.get_field("dose").choices)
    released = ExpressionWrapper(Q(bookable_from__isnull=False), output_field=BooleanField())
    groups = (
        appointments.annotate(released=released)
        .values("starts_at", "dose", "released", "booked")
        .annotate(count=Count("id"))
        .order_by("starts_at", "dose", "released", "booked")
    )
    totals = appointments.aggregate(total=Count("id"), booked=Count("id", filter=Q(booked=True)))
    return {
        "affected": [
            AffectedGroup(row["starts_at"], doses[row["dose"]], row["released"], row["booked"], row["count"])
            for row in groups[:AFFECTED_GROUPS]
        ],
        "affected_limit": AFFECTED_GROUPS,
        "affected_count": totals["total"],
        "affected_booked": totals["booked"],
        "affected_url": reverse("admin:supply_appointment_changelist")
        + f"?shortfall_alerts__id__exact={alert.pk}",
    }


# --- Appointments ---------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to `exact_up_to` rows, and beyond that takes PostgreSQL's estimate.

    The appointment table holds millions of rows: an exact COUNT(*) on every list page would
    read them all. With an estimate the number of pages is approximate, which nobody paging
    through millions of rows notices; filters narrow the list to exact counts.
    """

    exact_up_to = 10_000
    estimated = False  # whether `count` is PostgreSQL's estimate

    @cached_property
    def count(self) -> int:
        # Counting the pks of at most exact_up_to + 1 rows stops early; no ORDER BY, no joins.
        rows = self.object_list.order_by().values("pk")
        bounded = rows[: self.exact_up_to + 1].count()
        self.estimated = bounded > self.exact_up_to
        if not self.estimated:
            return bounded
        return max(bounded, estimated_rows(rows))


def estimated_rows(queryset) -> int:
    """PostgreSQL's estimate of the rows a query returns (EXPLAIN, nothing is read)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class ReleasedFilter(admin.SimpleListFilter):
    title = _("freigegeben")
    parameter_name = "released"

    def lookups(self, request, model_admin):
        return [("yes", _("Ja")), ("no", _("Nein"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(bookable_from__isnull=self.value() == "no")
        return queryset


class AppointmentChangeList(ChangeList):
    @cached_property
    def date_navigation(self) -> dict:
        return date_navigation(self)


def date_navigation(cl) -> dict:
    """The admin's date hierarchy without its SELECT DISTINCT over every matching row (seconds
    on millions of appointments): the years (or, within one year, the months) between the first
    and the last appointment; then every month of a chosen year and every day of a chosen month,
    whether it has appointments or not."""
    field = cl.date_hierarchy
    year, month, day = (cl.params.get(f"{field}__{part}") for part in ("year", "month", "day"))

    def choice(title, **parts):
        link = cl.get_query_string({f"{field}__{p}": value for p, value in parts.items()}, [f"{field}__"])
        return {"link": link, "title": title}

    def months(y, numbers):
        return [
            choice(capfirst(date_format(date(y, m, 1), "YEAR_MONTH_FORMAT")), year=y, month=m)
            for m in numbers
        ]

    if year and month and day:
        chosen = date(int(year), int(month), int(day))
        return {
            "back": months(chosen.year, [chosen.month])[0],
            "choices": [{"title": date_format(chosen, "MONTH_DAY_FORMAT")}],
        }
    if year and month:
        days = calendar.monthrange(int(year), int(month))[1]
        return {
            "back": choice(year, year=year),
            "choices": [choice(f"{n}.", year=year, month=month, day=n) for n in range(1, days + 1)],
        }
    if year:
        return {"back": choice(_("Alle Daten")), "choices": months(int(year), range(1, 13))}
    bounds = cl.queryset.order_by().aggregate(first=Min(field), last=Max(field))
    if bounds["first"] is None:
        return {"back": None, "choices": []}
    first, last = (timezone.localtime(bounds[key]) for key in ("first", "last"))
    if first.year == last.year:
        return {"back": None, "choices": months(first.year, range(first.month, last.month + 1))}
    return {"back": None, "choices": [choice(str(y), year=y) for y in range(first.year, last.year + 1)]}


@admin.register(Appointment)
class AppointmentAdmin(CentreVaccineColumns, ReadOnlyAdmin):
    list_display = ["starts", "centre_name", "vaccine_name", "dose", "released", "booked"]
    list_filter = [CENTRE_FILTER, VACCINE_FILTER, "dose", "booked", ReleasedFilter]
    list_select_related = ["centre", "vaccine"]
    date_hierarchy = "starts_at"
    # Millions of rows: no full count, no facet counts, no actions, a cheap date navigation
    # (change_list.html) and no sorting but the default order, which appointment_centre_time_idx
    # serves (sorting everything by time alone took 3 s on 2.5 million rows).
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    ordering = ["centre_id", "starts_at"]
    sortable_by = []
    fields = [
        "centre_name",
        "vaccine_name",
        "starts_at",
        "dose",
        "second",
        "bookable_from",
        "booked",
        "claimed_until",
    ]
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return AppointmentChangeList

    def changelist_view(self, request, extra_context=None):
        context = {"title": self.opts.verbose_name_plural, **(extra_context or {})}
        return super().changelist_view(request, context)

    def lookup_allowed(self, lookup, value, request=None):
        # The "all affected appointments" link of a shortfall alert.
        return lookup == "shortfall_alerts__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("Beginn"), ordering="starts_at")
    def starts(self, appointment):
        return local_time(appointment.starts_at, weekday=True)

    @admin.display(description=_("freigegeben"), boolean=True)
    def released(self, appointment):
        return appointment.bookable_from is not None
