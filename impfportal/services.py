"""Writes that span the apps: the demo data set."""

import csv
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from centres.models import Centre
from centres.services import centres_load
from impfportal.api.services import api_client_create, api_client_revoke
from impfportal.models import ApiClient, Scope, token_digest
from supply import parsers
from supply.models import Appointment, DeliveryUpload, PlanningSettings, PlanRun
from supply.replay import DELIVERIES_FILE
from supply.selectors import diff_rows
from supply.services.planning import plan_run_execute, plan_run_request

# The impfdashboard split of the uploads, so that the demo's centres get what the upload of the
# real file would give them. Private: supply has no public service for the split alone yet.
from supply.services.uploads import impfdashboard_rows, upload_apply, upload_preview
from waitingroom.exceptions import ReleaseInvalid
from waitingroom.models import Release
from waitingroom.services import release_close, release_schedule

DEMO_ADMIN_USERNAME = "admin"
# The demo's deliveries are uploaded under this name; the first such upload fixes which week of
# 2021 falls on which week of the demo, so that a later start only adds weeks.
DEMO_DELIVERY_FILE = "demo-lieferungen.csv"
# A busy stretch of 2021: twelve weeks from Monday 03.05.2021. After 25.07.2021 the centres got
# little more than returns, so later demo weeks repeat the stretch.
SOURCE_MONDAY = date(2021, 5, 3)
SOURCE_WEEKS = 12
# Deliveries from the current week for twelve weeks: enough stock for the first doses of about
# fourteen weeks (until then the centres' capacity is the limit) and the second doses they need.
DEMO_WEEKS_AHEAD = 12
CONFIRMED_DAYS = 14


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


def demo_admin_ensure(*, password_file: Path) -> DemoLogin:
    """The demo's superuser; its password is made once and kept in `password_file` (under var/)."""
    password = password_file.read_text().strip() if password_file.exists() else ""
    if not password:
        password = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_ADMIN_USERNAME).first()
    if user is None:
        user_model.objects.create_superuser(DEMO_ADMIN_USERNAME, "admin@impfportal.example", password)
    elif not user.check_password(password) or not user.is_superuser or not user.is_active:
        user.set_password(password)
        user.is_superuser = user.is_staff = user.is_active = True
        user.save(update_fields=["password", "is_superuser", "is_staff", "is_active"])
    return DemoLogin(DEMO_ADMIN_USERNAME, password)


@transaction.atomic
def demo_data_load(*, user, today: date | None = None) -> dict[str, object]:
    """Load the demo data set, deliveries uploaded by `user`; running it again the same day
    changes nothing. Returns what each step did."""
    today = today or timezone.localdate()
    return {"centres": centres_load(), "deliveries": demo_deliveries_load(user=user, today=today)}


@dataclass(frozen=True)
class DemoDeliveries:
    weeks: str
    created: int
    changed: int
    withdrawn: int
    unchanged: int


def demo_deliveries_load(*, user, today: date) -> DemoDeliveries:
    """Deliveries for every active centre from the demo's first week to DEMO_WEEKS_AHEAD weeks
    from `today`: the real ones of 2021 from SOURCE_MONDAY on, moved by whole weeks so that
    weekdays stay. Up to `today` delivered, then CONFIRMED_DAYS confirmed, later forecasts.

    Goes through the upload service (preview and apply, with revisions and a requested plan
    run) only when something differs. Precondition: the centres are loaded.
    """
    first_upload = (
        DeliveryUpload.objects.filter(file_name=DEMO_DELIVERY_FILE, state=DeliveryUpload.State.APPLIED)
        .order_by("applied_at")
        .values_list("date_from", flat=True)
        .first()
    )
    first_monday = _monday(first_upload or today)
    last_monday = max(_monday(today), first_monday) + timedelta(weeks=DEMO_WEEKS_AHEAD - 1)
    rows = _demo_delivery_rows(first_monday=first_monday, last_monday=last_monday, today=today)
    weeks = f"{_iso_week(first_monday)}..{_iso_week(last_monday)}"
    diff = diff_rows(
        rows=rows,
        scope=sorted({(row["centre"], row["vaccine"]) for row in rows}),
        date_from=date.fromisoformat(rows[0]["date"]),
        date_to=date.fromisoformat(rows[-1]["date"]),
    )
    if not diff.has_changes:
        return DemoDeliveries(weeks, created=0, changed=0, withdrawn=0, unchanged=diff.unchanged)
    upload = upload_preview(
        file=SimpleUploadedFile(DEMO_DELIVERY_FILE, _own_format_csv(rows)),
        file_format=DeliveryUpload.Format.OWN,
        user=user,
    )
    applied = upload_apply(upload=upload, user=user)
    return DemoDeliveries(weeks, applied.created, applied.changed, applied.withdrawn, applied.unchanged)


def _demo_delivery_rows(*, first_monday: date, last_monday: date, today: date) -> list[dict]:
    """Upload rows, sorted by date: demo week k gets source week k modulo SOURCE_WEEKS."""
    # The whole file is split, not only the stretch, so that the split is the one of the upload.
    split = impfdashboard_rows(DELIVERIES_FILE.read_bytes(), today=today)
    by_source_week = defaultdict(list)
    for row in split:
        by_source_week[_monday(date.fromisoformat(row["date"]))].append(row)
    rows = []
    for week in range((last_monday - first_monday).days // 7 + 1):
        source_monday = SOURCE_MONDAY + timedelta(weeks=week % SOURCE_WEEKS)
        shift = first_monday + timedelta(weeks=week) - source_monday
        for row in by_source_week[source_monday]:
            day = date.fromisoformat(row["date"]) + shift
            rows.append({**row, "date": day.isoformat(), "status": _demo_status(day, today)})
    rows.sort(key=lambda row: (row["date"], row["centre"], row["vaccine"]))
    return rows


def _demo_status(day: date, today: date) -> str:
    if day <= today:
        return "delivered"
    if day <= today + timedelta(days=CONFIRMED_DAYS):
        return "confirmed"
    return "forecast"


def _own_format_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(parsers.OWN_COLUMNS)
    writer.writerows(
        (row["centre"], row["vaccine"], row["date"], row["doses"], row["status"]) for row in rows
    )
    return buffer.getvalue().encode("utf-8")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class DemoPlan:
    centres: int
    plan_from: date
    plan_to: date
    run: PlanRun | None  # None: nothing had changed since the last plan
    appointments: int  # from plan_from on, after planning


def demo_appointments_plan(*, today: date | None = None, days: int | None = None) -> DemoPlan:
    """Plan the appointments of every active centre now, from the day after `today` for `days`
    (default: the configured horizon), if deliveries changed since the last plan (a plan run is
    queued) or a centre has no appointment in that window; else leave them as they are.

    Call it outside a transaction: each centre is planned and committed in a transaction of its own.
    """
    today = today or timezone.localdate()
    plan_from = today + timedelta(days=1)
    plan_to = plan_from + timedelta(days=(days or PlanningSettings.load().horizon_days) - 1)
    starts, ends = _start_of(plan_from), _start_of(plan_to + timedelta(days=1))
    centres = Centre.objects.filter(active=True)
    in_window = Appointment.objects.filter(centre=OuterRef("pk"), starts_at__gte=starts, starts_at__lt=ends)
    run = None
    if (
        PlanRun.objects.filter(state=PlanRun.State.QUEUED).exists()
        or centres.filter(~Exists(in_window)).exists()
    ):
        # Takes the run the upload requested, if it still waits. Its task stays queued: the task
        # worker plans it once more when it starts, which writes nothing as nothing has changed.
        run = plan_run_request(reason=_("Demo: Termine für die nächsten Wochen planen"))
        run = plan_run_execute(run_id=run.pk, plan_from=plan_from, plan_to=plan_to)
    appointments = Appointment.objects.filter(starts_at__gte=starts).count()
    return DemoPlan(centres.count(), plan_from, plan_to, run, appointments)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(0)))


def demo_password_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-admin-password.txt"


DEMO_API_CLIENT = "Demo-Call-Center"


def demo_api_token_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-api-token.txt"


def demo_api_client_ensure(*, token_file: Path) -> str:
    """The demo's hotline API client with every scope; its token is kept in `token_file` (under
    var/) so that a second `make run` prints the same one. Returns the token."""
    token = token_file.read_text().strip() if token_file.exists() else ""
    client = ApiClient.objects.filter(name=DEMO_API_CLIENT).first()
    if client is not None and token and client.token_hash == token_digest(token) and not client.revoked_at:
        return token
    if client is not None:  # the token file was lost or the client revoked: start afresh
        api_client_revoke(client=client)
        ApiClient.objects.filter(pk=client.pk).update(
            name=f"{DEMO_API_CLIENT} (bis {timezone.now():%d.%m.%Y %H:%M})"
        )
    _client, token = api_client_create(name=DEMO_API_CLIENT, scopes=list(Scope.values))
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    return token


@dataclass(frozen=True)
class DemoRelease:
    release: Release
    queue: bool  # False: released without a waiting room (closed at once)


def demo_releases_ensure(*, user, now: datetime | None = None) -> list[DemoRelease]:
    """Unless a release is still to open or open: release the next two weeks' planned pairs at
    once (without a waiting room, so the demo can book straight away), and schedule the two
    weeks after them to open in ten minutes, with a five-minute pre-queue and a small admission
    limit, so that the waiting room can be seen at work. Returns what it created."""
    now = now or timezone.now()
    if Release.objects.filter(status__in=[*Release.ACTIVE, Release.Status.SCHEDULED]).exists():
        return []
    today = timezone.localdate(now)
    plans = [
        (_("Demo: sofort buchbar"), today + timedelta(days=1), now - timedelta(minutes=1), 0, False),
        (_("Demo: Freigabe mit Warteraum"), today + timedelta(days=15), now + timedelta(minutes=10), 5, True),
    ]
    created = []
    for name, first_day, opens_at, prequeue_minutes, queue in plans:
        release = Release(
            name=name,
            first_day=first_day,
            last_day=first_day + timedelta(days=13),
            opens_at=opens_at,
            prequeue_minutes=prequeue_minutes,
            hotline_percent=10,
            admission_limit=50,
            admission_minutes=20,
            created_by=user,
        )
        release.save()
        try:
            release_schedule(release=release)
        except ReleaseInvalid:  # nothing planned there (yet)
            release.delete()
            continue
        if not queue:
            release = release_close(release_id=release.pk)
        created.append(DemoRelease(release, queue))
    return created
