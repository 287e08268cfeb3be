"""Admin of planning: the planner's settings, plan runs and their report, shortfall alerts and
the (read-only) appointments the planner writes."""

import calendar
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Max, Min, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from supply import planner
from supply.charts import shelf_chart
from supply.forms import PlanWindowForm
from supply.models import Appointment, PlanningSettings, PlanRun, ShortfallAlert, Vaccine
from supply.services.planning import plan_run_request

MANUAL_REASON = "Manuell gestartet"
REFRESH_SECONDS = 3
PENDING = (PlanRun.State.QUEUED, PlanRun.State.RUNNING)
AFFECTED_GROUPS = 100  # times listed on an alert's page; all appointments behind a link

LIMIT_LABELS = {
    planner.LIMIT_STOCK: _("Impfstoff"),
    planner.LIMIT_CAPACITY: _("Kapazität"),
    planner.LIMIT_VIALS: _("Vials"),
}


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


# --- Settings -------------------------------------------------------------------------------


@admin.register(PlanningSettings)
class PlanningSettingsAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it."""

    fields = ["forecast_share_percent", "horizon_days"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        options = PlanningSettings.load()
        return HttpResponseRedirect(reverse("admin:supply_planningsettings_change", args=[options.pk]))


# --- Plan runs and their report -------------------------------------------------------------


@admin.register(PlanRun)
class PlanRunAdmin(ReadOnlyAdmin):
    list_display = [
        "created_on",
        "reason",
        "state_badge",
        "progress",
        "window",
        "appointments_created",
        "appointments_withdrawn",
        "requested",
    ]
    list_select_related = ["requested_by"]

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.plan_now_view))
        plan = path("plan/", view, name="supply_planrun_plan")
        return [plan, *super().get_urls()]

    def has_plan_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('add', self.opts)}")

    def changelist_view(self, request, extra_context=None):
        context = {
            "title": self.opts.verbose_name_plural,
            "may_plan": self.has_plan_permission(request),
            "window_form": PlanWindowForm(),
            "horizon_days": PlanningSettings.load().horizon_days,
            "open_alerts": open_alert_count(),
            "pending_run": PlanRun.objects.filter(state__in=PENDING).order_by("created_at").first(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def plan_now_view(self, request):
        """POST: start a plan run of all centres, then show its page (progress, then report)."""
        if not self.has_plan_permission(request):
            raise PermissionDenied
        form = PlanWindowForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:supply_planrun_changelist"))
        run = plan_run_request(
            reason=MANUAL_REASON,
            requested_by=request.user,
            plan_from=form.cleaned_data["plan_from"],
            plan_to=form.cleaned_data["plan_to"],
        )
        self.message_user(request, _("Der Planungslauf wurde gestartet."))
        return HttpResponseRedirect(reverse("admin:supply_planrun_change", args=[run.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The run's page: progress while it runs, the error if it failed, else its report."""
        run = self.get_object(request, unquote(object_id))
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        pending = run.state in PENDING
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Planungslauf vom %(when)s") % {"when": local_time(run.created_at)},
            "run": run,
            "pending": pending,
            "refresh_seconds": REFRESH_SECONDS if pending else None,
            "report": run_report(run) if run.state == PlanRun.State.DONE else None,
            "may_plan": self.has_plan_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/supply/planrun/report.html", context)

    @admin.display(description=_("angelegt"), ordering="created_at")
    def created_on(self, run):
        return local_time(run.created_at)

    @admin.display(description=_("neue Termine"), ordering="created")
    def appointments_created(self, run):
        return number_format(run.created, force_grouping=True)

    @admin.display(description=_("zurückgezogen"), ordering="withdrawn")
    def appointments_withdrawn(self, run):
        return number_format(run.withdrawn, force_grouping=True)

    @admin.display(description=_("von"), ordering="requested_by__username")
    def requested(self, run):
        return run.requested_by or "–"

    @admin.display(description=_("Status"), ordering="state")
    def state_badge(self, run):
        return badge(run.get_state_display(), STATE_TONES[run.state])

    @admin.display(description=_("Fortschritt"), ordering="progress_percent")
    def progress(self, run):
        return format_html(
            '<span style="white-space: nowrap"><progress max="100" value="{}" style="width: 5rem">'
            "{} %</progress> {}&nbsp;%</span>",
            run.progress_percent,
            run.progress_percent,
            run.progress_percent,
        )

    @admin.display(description=_("Planungszeitraum"), ordering="plan_from")
    def window(self, run):
        if not run.plan_from:
            return "–"
        return f"{run.plan_from:%d.%m.%Y}–{run.plan_to:%d.%m.%Y}"


STATE_TONES = {
    PlanRun.State.QUEUED: "quiet",
    PlanRun.State.RUNNING: "info",
    PlanRun.State.DONE: "good",
    PlanRun.State.FAILED: "bad",
}


def badge(text, tone: str):
    """A small coloured label; the text carries the meaning, the colour only repeats it."""
    return format_html('<span class="plan-badge plan-badge-{}">{}</span>', tone, text)


@dataclass
class Figures:
    """Doses and appointments of a week, or summed over weeks or centres."""

    doses_in: int = 0
    first: int = 0
    second: int = 0
    leftover: int = 0
    capacity: int = 0
    used: int = 0

    def add(self, other: "Figures") -> None:
        for name in ("doses_in", "first", "second", "leftover", "capacity", "used"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def utilisation(self) -> int | None:
        """Percent of the appointment capacity used; None without capacity (closed all week)."""
        return round(100 * self.used / self.capacity) if self.capacity else None


@dataclass
class WeekRow(Figures):
    number: int = 0
    first_day: date | None = None
    last_day: date | None = None
    limit: str = ""

    @property
    def limit_label(self):
        return LIMIT_LABELS.get(self.limit, self.limit)


@dataclass
class CentreReport:
    code: str
    name: str
    weeks: list[WeekRow]
    totals: Figures
    chart: str
    alerts: list[ShortfallAlert] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"centre-{self.code}"


@dataclass
class RunReport:
    centres: list[CentreReport]
    totals: Figures
    alerts: int
    open_alerts: int


def run_report(run: PlanRun) -> RunReport:
    """The report of a finished run, ready to show: weeks, totals, shelf charts and alerts."""
    names = dict(Vaccine.objects.order_by("id").values_list("code", "name"))  # fixes line styles
    alerts = defaultdict(list)
    for alert in run.shortfall_alerts.select_related("centre", "vaccine").order_by(
        "centre__code", "first_short_day", "vaccine__name"
    ):
        alerts[alert.centre.code].append(alert)
    centres = [
        _centre_report(entry, run.plan_to, names, alerts[entry["centre"]])
        for entry in run.report.get("centres", [])
    ]
    totals = Figures()
    for centre in centres:
        totals.add(centre.totals)
    every_alert = [alert for found in alerts.values() for alert in found]
    return RunReport(
        centres=centres,
        totals=totals,
        alerts=len(every_alert),
        open_alerts=sum(alert.resolved_at is None for alert in every_alert),
    )


def _centre_report(entry: dict, plan_to: date | None, names: dict, alerts: list) -> CentreReport:
    start = date.fromisoformat(entry["from"])
    weeks = [_week_row(week, plan_to) for week in entry["weeks"]]
    totals = Figures()
    for week in weeks:
        totals.add(week)
    plan_days = (plan_to - start).days + 1 if plan_to else None
    chart = shelf_chart(
        centre_name=entry["name"], start=start, shelf=entry["shelf"], names=names, plan_days=plan_days
    )
    return CentreReport(entry["centre"], entry["name"], weeks, totals, chart, alerts)


def _week_row(week: dict, plan_to: date | None) -> WeekRow:
    first_day = date.fromisoformat(week["start"])
    last_day = first_day + timedelta(days=6 - first_day.weekday())
    if plan_to and plan_to < last_day:
        last_day = plan_to
    return WeekRow(
        doses_in=week["doses_in"],
        first=week["first"],
        second=week["second"],
        leftover=week["leftover"],
        capacity=week["capacity"],
        used=week["used"],
        number=int(week["week"].split("-W")[1]),
        first_day=first_day,
        last_day=last_day,
        limit=week["limit"],
    )


# --- Shortfall alerts -----------------------------------------------------------------------


def open_alert_count() -> int:
    return ShortfallAlert.objects.filter(resolved_at__isnull=True).count()


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
