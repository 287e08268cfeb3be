"""Delivery uploads: validate a whole file and preview it, then apply it in one transaction.

A preview stores nothing but the DeliveryUpload with the normalised rows; a file with any bad
row stores nothing at all (DESIGN invariant 11). Applying recomputes the difference against
the deliveries as they are then, writes it with a revision per row, and requests a planner run
if anything changed; the run is enqueued only after the commit (invariant 12).
"""

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from centres.models import Centre
from supply import parsers
from supply.distribution import distribute, distribution_key_in_use, distribution_weights
from supply.exceptions import RowError, UploadConflict, UploadInvalid, UploadNotApplicable
from supply.locking import lock_delivery_uploads
from supply.models import Delivery, DeliveryRevision, DeliveryUpload, PlanRun, Vaccine
from supply.selectors import diff_rows
from supply.services.planning import plan_run_request

MAX_UPLOAD_BYTES = getattr(settings, "SUPPLY_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)


@dataclass(frozen=True)
class ApplyResult:
    created: int
    changed: int
    withdrawn: int
    unchanged: int
    plan_run: PlanRun | None

    @property
    def rows_changed(self) -> int:
        return self.created + self.changed + self.withdrawn


# --- Preview ---------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """A valid file in normalised form, before it is compared with the database."""

    rows: list[dict]
    scope: list[tuple[str, str]]
    date_from: date
    date_to: date
    notices: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def _refuse(message: str) -> UploadInvalid:
    return UploadInvalid([RowError(row=None, column="", message=message)])


def upload_preview(*, file, file_format: str, user) -> DeliveryUpload:
    """Validate a whole delivery file (an uploaded file with `name`, `size` and `read()`) and store
    it as a previewed DeliveryUpload. Raises UploadInvalid listing every problem; then nothing is stored."""
    if file_format not in DeliveryUpload.Format.values:
        raise _refuse(_("Unbekanntes Dateiformat „%(format)s“.") % {"format": file_format})
    # The size first, before a byte is read: a huge file must not be loaded into memory.
    size = file.size
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise _refuse(
            _(
                "Die Datei ist %(size)s groß; erlaubt sind höchstens %(limit)s. "
                "Bitte die Lieferungen auf mehrere Dateien aufteilen, z. B. nach Monaten."
            )
            % {"size": _megabytes(size), "limit": _megabytes(MAX_UPLOAD_BYTES)}
        )
    if hasattr(file, "seek"):
        file.seek(0)
    content = file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:  # a file object that did not know its size
        raise _refuse(_("Die Datei ist größer als %(limit)s.") % {"limit": _megabytes(MAX_UPLOAD_BYTES)})
    today = timezone.localdate()
    if file_format == DeliveryUpload.Format.OWN:
        prepared = _prepare_own(content, today=today)
    else:
        prepared = _prepare_impfdashboard(content, today=today)

    sha256 = hashlib.sha256(content).hexdigest()
    earlier = (
        DeliveryUpload.objects.filter(sha256=sha256, state=DeliveryUpload.State.APPLIED)
        .order_by("-applied_at")
        .first()
    )
    if earlier:
        prepared.notices.append(
            _("Dieselbe Datei wurde schon am %(when)s übernommen (Upload Nr. %(id)d).")
            % {"when": timezone.localtime(earlier.applied_at).strftime("%d.%m.%Y %H:%M"), "id": earlier.pk}
        )
    diff = diff_rows(
        rows=prepared.rows, scope=prepared.scope, date_from=prepared.date_from, date_to=prepared.date_to
    )
    summary = {
        **diff.counts(),
        "rows": len(prepared.rows),
        "ignored": 0,
        "notices": prepared.notices,
        "scope": [list(pair) for pair in prepared.scope],
        **prepared.summary,
    }
    return DeliveryUpload.objects.create(
        file_name=(getattr(file, "name", "") or "upload")[:255],
        sha256=sha256,
        file_format=file_format,
        uploaded_by=user,
        rows=prepared.rows,
        date_from=prepared.date_from,
        date_to=prepared.date_to,
        summary=summary,
    )


def _megabytes(size: int) -> str:
    """German, rounded up to a tenth: a file just over the limit must not read as the limit itself."""
    tenths = math.ceil(size * 10 / (1024 * 1024))
    text = str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10},{tenths % 10}"
    return f"{text} MB"


def _codes(model) -> parsers.Codes:
    pairs = list(model.objects.values_list("code", "active"))
    return parsers.Codes(
        active=frozenset(code for code, active in pairs if active),
        inactive=frozenset(code for code, active in pairs if not active),
    )


def _prepare_own(content: bytes, *, today: date) -> _Prepared:
    table = parsers.read_table(content, allow_xlsx=True)
    parsed = parsers.parse_own(table, centres=_codes(Centre), vaccines=_codes(Vaccine), today=today)
    rows = [
        {
            "centre": row.centre,
            "vaccine": row.vaccine,
            "date": row.date.isoformat(),
            "doses": row.doses,
            "status": row.status,
        }
        for row in sorted(parsed, key=lambda row: (row.date, row.centre, row.vaccine))
    ]
    return _Prepared(
        rows=rows,
        scope=sorted({(row.centre, row.vaccine) for row in parsed}),
        date_from=min(row.date for row in parsed),
        date_to=max(row.date for row in parsed),
    )


def impfdashboard_rows(content: bytes, *, today: date) -> list[dict]:
    """An impfdashboard file split across the centres by the distribution key, as the rows an
    upload of it would preview (the demo moves them onto the current weeks). Raises UploadInvalid."""
    return _prepare_impfdashboard(content, today=today).rows


def _prepare_impfdashboard(content: bytes, *, today: date) -> _Prepared:
    table = parsers.read_table(content, allow_xlsx=False)
    vaccines = _codes(Vaccine)
    parsed = parsers.parse_impfdashboard(table, vaccines=vaccines, today=today)

    centres = dict(Centre.objects.filter(active=True).values_list("id", "code"))
    weights = {centres[centre_id]: weight for centre_id, weight in distribution_weights().items()}
    if not any(weights.values()):
        raise _refuse(
            _(
                "Die Landeslieferungen können keinem Impfzentrum zugeteilt werden: es gibt kein aktives "
                "Impfzentrum mit einem Gewicht über 0. Bitte den Verteilschlüssel oder die Öffnungszeiten "
                "der Zentren pflegen."
            )
        )

    totals: defaultdict[tuple[date, str], int] = defaultdict(int)
    for row in parsed.rows:
        totals[row.date, row.vaccine] += row.doses
    date_from = min(row.date for row in parsed.rows)
    date_to = max(row.date for row in parsed.rows)
    file_vaccines = sorted({row.vaccine for row in parsed.rows})
    per_vial = dict(Vaccine.objects.filter(code__in=file_vaccines).values_list("code", "doses_per_vial"))
    opening = _stock_before(centres=sorted(weights), vaccines=file_vaccines, day=date_from)
    distribution = distribute(totals=totals, weights=weights, doses_per_vial=per_vial, opening=opening)

    rows = [
        {
            "centre": centre,
            "vaccine": vaccine,
            "date": day.isoformat(),
            "doses": doses,
            "status": Delivery.Status.DELIVERED if day <= today else Delivery.Status.FORECAST,
        }
        for (centre, vaccine, day), doses in sorted(
            distribution.doses.items(), key=lambda item: (item[0][2], item[0][0], item[0][1])
        )
    ]
    scope = [(centre, vaccine) for centre in sorted(weights) for vaccine in file_vaccines]

    notices = []
    source = _("dem Verteilschlüssel") if distribution_key_in_use() else _("der Kapazität der Zentren")
    notices.append(
        _(
            "Die Landeslieferungen wurden nach %(source)s auf %(count)d aktive Impfzentren "
            "verteilt, in ganzen Vials."
        )
        % {"source": source, "count": sum(1 for weight in weights.values() if weight > 0)}
    )
    merged = len(parsed.rows) - len(totals)
    if merged:
        notices.append(
            _("%(count)d Lieferereignisse am selben Tag und für denselben Impfstoff wurden zusammengezählt.")
            % {"count": merged}
        )
    zero_days = sum(1 for total in totals.values() if total == 0)
    if zero_days:
        notices.append(
            _("%(count)d Tage mit 0 Dosen für einen Impfstoff ergeben keine Lieferung.")
            % {"count": zero_days}
        )
    for shortfall in distribution.shortfalls:
        notices.append(
            _(
                "Rückgabe am %(day)s (%(vaccine)s): %(centre)s sollte %(wanted)d Dosen zurückgeben, hatte "
                "aber nur %(taken)d; %(missing)d Dosen wurden nicht abgezogen."
            )
            % {
                "day": shortfall.day.strftime("%d.%m.%Y"),
                "vaccine": shortfall.vaccine,
                "centre": shortfall.centre,
                "wanted": shortfall.wanted,
                "taken": shortfall.taken,
                "missing": shortfall.missing,
            }
        )
    return _Prepared(
        rows=rows,
        scope=scope,
        date_from=date_from,
        date_to=date_to,
        notices=notices,
        summary={
            "ignored": parsed.ignored_total,
            "ignored_detail": parsed.ignored,
            "state_rows": len(parsed.rows),
            "return_shortfall": sum(shortfall.missing for shortfall in distribution.shortfalls),
        },
    )


def _stock_before(*, centres: list[str], vaccines: list[str], day: date) -> dict[tuple[str, str], int]:
    """Doses of each centre and vaccine delivered before `day` (not cancelled): the stock that
    returns in the file may be taken from, besides the file's own rows."""
    totals = (
        Delivery.objects.filter(centre__code__in=centres, vaccine__code__in=vaccines, date__lt=day)
        .exclude(status=Delivery.Status.CANCELLED)
        .values("centre__code", "vaccine__code")
        .annotate(doses=Sum("doses"))
    )
    return {(row["centre__code"], row["vaccine__code"]): row["doses"] for row in totals}


# --- Apply and discard -----------------------------------------------------------------------


def upload_apply(*, upload: DeliveryUpload, user) -> ApplyResult:
    """Apply a previewed upload, all or nothing: recompute the difference against the current
    deliveries, write it with one revision per row, mark the upload applied and, if anything
    changed, request a planner run (enqueued after the commit). Raises UploadNotApplicable if the
    upload is not in the preview state, UploadConflict if a concurrent write got in the way."""
    try:
        with transaction.atomic():
            result = _apply(upload_id=upload.pk, user=user)
    except IntegrityError as exc:
        raise UploadConflict(
            _(
                "Die Lieferungen wurden gleichzeitig an anderer Stelle geändert; es wurde nichts übernommen. "
                "Bitte die Vorschau neu laden und erneut übernehmen."
            )
        ) from exc
    upload.refresh_from_db()
    return result


def _apply(*, upload_id: int, user) -> ApplyResult:
    # One apply at a time: two uploads that both create the same delivery would otherwise race
    # on the unique constraint; holding this lock, the diff is exact.
    lock_delivery_uploads()
    upload = DeliveryUpload.objects.select_for_update().get(pk=upload_id)
    _require_previewed(upload, applying=True)
    diff = diff_rows(
        rows=upload.rows,
        scope=[tuple(pair) for pair in upload.summary.get("scope", [])],
        date_from=upload.date_from,
        date_to=upload.date_to,
        lock=True,
    )
    now = timezone.now()
    centre_ids = dict(
        Centre.objects.filter(code__in={change.centre for change in diff.new}).values_list("code", "id")
    )
    vaccine_ids = dict(
        Vaccine.objects.filter(code__in={change.vaccine for change in diff.new}).values_list("code", "id")
    )
    missing = sorted({change.centre for change in diff.new} - set(centre_ids)) + sorted(
        {change.vaccine for change in diff.new} - set(vaccine_ids)
    )
    if missing:
        raise UploadNotApplicable(
            _("Diese Zentren oder Impfstoffe gibt es nicht mehr: %(codes)s. Bitte die Datei neu hochladen.")
            % {"codes": ", ".join(missing)}
        )

    created = Delivery.objects.bulk_create(
        [
            Delivery(
                centre_id=centre_ids[change.centre],
                vaccine_id=vaccine_ids[change.vaccine],
                date=change.date,
                doses=change.new_doses,
                status=change.new_status,
                upload=upload,
            )
            for change in diff.new
        ],
        batch_size=1000,
    )
    Delivery.objects.bulk_update(
        [
            Delivery(
                pk=change.delivery_id,
                doses=change.new_doses,
                status=change.new_status,
                upload=upload,
                updated_at=now,
            )
            for change in [*diff.changed, *diff.withdrawn]
        ],
        ["doses", "status", "upload", "updated_at"],
        batch_size=1000,
    )
    written = [
        *zip((delivery.pk for delivery in created), diff.new, strict=True),
        *((change.delivery_id, change) for change in [*diff.changed, *diff.withdrawn]),
    ]
    DeliveryRevision.objects.bulk_create(
        [
            delivery_revision_build(
                delivery_id=delivery_id,
                old_doses=change.old_doses,
                old_status=change.old_status,
                new_doses=change.new_doses,
                new_status=change.new_status,
                user=user,
                upload=upload,
            )
            for delivery_id, change in written
        ],
        batch_size=1000,
    )

    plan_run = None
    if diff.has_changes:
        plan_run = plan_run_request(
            reason=_("Liefer-Upload „%(file)s“: %(count)d Lieferungen geändert")
            % {"file": upload.file_name[:120], "count": len(written)},
            requested_by=user,
        )
    upload.state = DeliveryUpload.State.APPLIED
    upload.applied_at = now
    upload.summary = {
        **upload.summary,
        "applied": {**diff.counts(), "plan_run": plan_run.pk if plan_run else None},
    }
    upload.save(update_fields=["state", "applied_at", "summary"])
    return ApplyResult(
        created=len(diff.new),
        changed=len(diff.changed),
        withdrawn=len(diff.withdrawn),
        unchanged=diff.unchanged,
        plan_run=plan_run,
    )


@transaction.atomic
def upload_discard(*, upload: DeliveryUpload, user) -> None:
    """Mark a previewed upload discarded; its rows are never applied. Refused once applied."""
    locked = DeliveryUpload.objects.select_for_update().get(pk=upload.pk)
    _require_previewed(locked, applying=False)
    locked.state = DeliveryUpload.State.DISCARDED
    locked.summary = {**locked.summary, "discarded_by": user.get_username() if user else None}
    locked.save(update_fields=["state", "summary"])
    upload.refresh_from_db()


def _require_previewed(upload: DeliveryUpload, *, applying: bool) -> None:
    if upload.state == DeliveryUpload.State.PREVIEWED:
        return
    if upload.state == DeliveryUpload.State.APPLIED:
        when = timezone.localtime(upload.applied_at).strftime("%d.%m.%Y %H:%M") if upload.applied_at else "–"
        if applying:
            message = _(
                "Dieser Upload wurde bereits am %(when)s übernommen und kann nicht noch einmal "
                "übernommen werden."
            )
        else:
            message = _(
                "Dieser Upload wurde bereits am %(when)s übernommen und kann nicht mehr verworfen werden."
            )
        raise UploadNotApplicable(message % {"when": when})
    if applying:
        raise UploadNotApplicable(_("Dieser Upload wurde verworfen und kann nicht übernommen werden."))
    raise UploadNotApplicable(_("Dieser Upload wurde bereits verworfen."))


# --- Single deliveries (admin) ---------------------------------------------------------------


def delivery_revision_build(
    *,
    delivery_id: int,
    old_doses: int | None,
    old_status: str,
    new_doses: int,
    new_status: str,
    user,
    upload: DeliveryUpload | None,
) -> DeliveryRevision:
    """The (unsaved) revision recording one change of a delivery; every write of a delivery makes one."""
    return DeliveryRevision(
        delivery_id=delivery_id,
        upload=upload,
        changed_by=user,
        old_doses=old_doses,
        old_status=old_status or "",
        new_doses=new_doses,
        new_status=new_status,
    )


@transaction.atomic
def delivery_save(*, delivery: Delivery, user) -> PlanRun | None:
    """Create or update one delivery as edited by staff: record a revision and, as an upload
    does, request a planning run if doses or status changed. Returns that run, if any."""
    old = None
    if delivery.pk:
        old = Delivery.objects.select_for_update().filter(pk=delivery.pk).values("doses", "status").first()
    delivery.save()
    if old is not None and (old["doses"], old["status"]) == (delivery.doses, delivery.status):
        return None
    delivery_revision_build(
        delivery_id=delivery.pk,
        old_doses=old["doses"] if old else None,
        old_status=old["status"] if old else "",
        new_doses=delivery.doses,
        new_status=delivery.status,
        user=user,
        upload=None,
    ).save()
    return plan_run_request(
        reason=_("Lieferung geändert: %(delivery)s") % {"delivery": delivery}, requested_by=user
    )
