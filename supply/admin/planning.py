"""Admin of planning: the planner's settings, plan runs and their report."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from supply import planner
from supply.admin.common import ReadOnlyAdmin, badge, local_time, open_alert_count
from supply.charts import shelf_chart
from supply.forms import PlanWindowForm
from supply.models import PlanningSettings, PlanRun, ShortfallAlert, Vaccine
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

    @admin.display(description=_("angefordert von"), ordering="requested_by__username")
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
