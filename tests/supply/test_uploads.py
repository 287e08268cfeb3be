"""The upload services: preview, apply, discard; bad files change nothing (DESIGN invariant 11)."""

import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.utils import timezone

from supply.exceptions import UploadInvalid, UploadNotApplicable
from supply.models import Delivery, DeliveryRevision, DeliveryUpload, DistributionKey, PlanRun
from supply.selectors import upload_diff
from supply.services import uploads
from supply.services.uploads import upload_apply, upload_discard, upload_preview
from tests.supply.conftest import OWN_HEADER, SNAPSHOT_FILE

pytestmark = pytest.mark.django_db

OWN = DeliveryUpload.Format.OWN
IMPFDASHBOARD = DeliveryUpload.Format.IMPFDASHBOARD
TSV_HEADER = "date\timpfstoff\tregion\tdosen\teinrichtung"


def preview_and_apply(make_file, staff, lines, file_format=OWN, name="lieferungen.csv"):
    upload = upload_preview(file=make_file(lines, name=name), file_format=file_format, user=staff)
    return upload, upload_apply(upload=upload, user=staff)


def deliveries():
    return {
        (d.centre.code, d.vaccine.code, d.date): (d.doses, d.status)
        for d in Delivery.objects.select_related("centre", "vaccine")
    }


# --- Own format: preview, apply, re-upload, changes, withdrawals -----------------------------


def test_preview_stores_the_upload_and_nothing_else(centres, staff, make_file, stored):
    before = stored()
    upload = upload_preview(
        file=make_file(
            [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;bestätigt", "LZ01;moderna;04.05.2021;600;prognose"]
        ),
        file_format=OWN,
        user=staff,
    )
    after = stored()
    assert after["uploads"] == before["uploads"] + 1
    assert {key: after[key] for key in ("deliveries", "revisions", "plan_runs")} == {
        key: before[key] for key in ("deliveries", "revisions", "plan_runs")
    }
    assert upload.state == DeliveryUpload.State.PREVIEWED
    assert upload.file_format == OWN
    assert upload.file_name == "lieferungen.csv"
    assert len(upload.sha256) == 64
    assert (upload.date_from, upload.date_to) == (date(2021, 5, 3), date(2021, 5, 4))
    assert upload.rows == [
        {
            "centre": "DD01",
            "vaccine": "comirnaty",
            "date": "2021-05-03",
            "doses": 1170,
            "status": "confirmed",
        },
        {"centre": "LZ01", "vaccine": "moderna", "date": "2021-05-04", "doses": 600, "status": "forecast"},
    ]
    assert {key: upload.summary[key] for key in ("new", "changed", "withdrawn", "unchanged", "rows")} == {
        "new": 2,
        "changed": 0,
        "withdrawn": 0,
        "unchanged": 0,
        "rows": 2,
    }


def test_apply_writes_deliveries_revisions_and_requests_a_plan_run_after_commit(
    centres, staff, make_file, planner_calls, django_capture_on_commit_callbacks
):
    upload = upload_preview(
        file=make_file(
            [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;bestätigt", "LZ01;moderna;2021-05-04;600;prognose"]
        ),
        file_format=OWN,
        user=staff,
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = upload_apply(upload=upload, user=staff)
        assert planner_calls == []  # nothing is enqueued before the commit
    assert (result.created, result.changed, result.withdrawn, result.unchanged) == (2, 0, 0, 0)
    assert deliveries() == {
        ("DD01", "comirnaty", date(2021, 5, 3)): (1170, "confirmed"),
        ("LZ01", "moderna", date(2021, 5, 4)): (600, "forecast"),
    }
    assert set(Delivery.objects.values_list("upload", flat=True)) == {upload.pk}
    revisions = DeliveryRevision.objects.order_by("delivery__date")
    assert [(r.old_doses, r.old_status, r.new_doses, r.new_status) for r in revisions] == [
        (None, "", 1170, "confirmed"),
        (None, "", 600, "forecast"),
    ]
    assert {(r.upload_id, r.changed_by_id) for r in revisions} == {(upload.pk, staff.pk)}
    upload.refresh_from_db()
    assert upload.state == DeliveryUpload.State.APPLIED
    assert upload.applied_at is not None
    run = PlanRun.objects.get()
    assert result.plan_run == run
    assert run.requested_by == staff
    assert "lieferungen.csv" in run.reason
    assert upload.summary["applied"]["plan_run"] == run.pk
    for callback in callbacks:
        callback()
    assert planner_calls == [run.pk]


def test_the_same_file_again_changes_nothing_and_requests_no_plan_run(centres, staff, make_file, stored):
    lines = [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;bestätigt", "LZ01;moderna;2021-05-04;600;prognose"]
    preview_and_apply(make_file, staff, lines)
    before = stored()
    upload = upload_preview(file=make_file(lines), file_format=OWN, user=staff)
    assert (upload.summary["new"], upload.summary["changed"], upload.summary["withdrawn"]) == (0, 0, 0)
    assert upload.summary["unchanged"] == 2
    assert any("schon am" in notice for notice in upload.summary["notices"])
    result = upload_apply(upload=upload, user=staff)
    assert result.rows_changed == 0
    assert result.plan_run is None
    after = stored()
    assert after["uploads"] == before["uploads"] + 1
    assert {k: v for k, v in after.items() if k != "uploads"} == {
        k: v for k, v in before.items() if k != "uploads"
    }
    upload.refresh_from_db()
    assert upload.state == DeliveryUpload.State.APPLIED


def test_a_changed_forecast_is_a_changed_row_with_a_revision(centres, staff, make_file):
    preview_and_apply(make_file, staff, [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose"])
    upload, result = preview_and_apply(
        make_file, staff, [OWN_HEADER, "DD01;comirnaty;2021-05-03;1200;bestätigt"]
    )
    assert (result.created, result.changed, result.withdrawn) == (0, 1, 0)
    assert deliveries() == {("DD01", "comirnaty", date(2021, 5, 3)): (1200, "confirmed")}
    revision = DeliveryRevision.objects.filter(upload=upload).get()
    assert (revision.old_doses, revision.old_status, revision.new_doses, revision.new_status) == (
        1170,
        "forecast",
        1200,
        "confirmed",
    )
    # The change asks for a plan run; the first one has not started yet (the worker is stubbed
    # here), and a waiting run reads the newest deliveries anyway, so it is the same run.
    assert result.plan_run is not None and result.plan_run.state == PlanRun.State.QUEUED
    assert PlanRun.objects.count() == 1


def test_a_row_missing_from_the_next_file_is_withdrawn_within_the_files_scope_only(centres, staff, make_file):
    preview_and_apply(
        make_file,
        staff,
        [
            OWN_HEADER,
            "DD01;comirnaty;2021-05-03;1170;prognose",
            "DD01;comirnaty;2021-05-04;600;prognose",
            "DD01;comirnaty;2021-05-05;600;prognose",
            "DD01;comirnaty;2021-06-01;600;prognose",  # after the second file's range
            "LZ01;comirnaty;2021-05-04;600;prognose",  # another centre
            "DD01;moderna;2021-05-04;500;prognose",  # another vaccine
        ],
    )
    second = upload_preview(
        file=make_file(
            [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose", "DD01;comirnaty;2021-05-05;600;prognose"]
        ),
        file_format=OWN,
        user=staff,
    )
    diff = upload_diff(upload=second)
    assert [(c.centre, c.vaccine, c.date, c.old_status, c.new_status) for c in diff.withdrawn] == [
        ("DD01", "comirnaty", date(2021, 5, 4), "forecast", "cancelled")
    ]
    result = upload_apply(upload=second, user=staff)
    assert (result.created, result.changed, result.withdrawn, result.unchanged) == (0, 0, 1, 2)
    now = deliveries()
    assert now[("DD01", "comirnaty", date(2021, 5, 4))] == (600, "cancelled")
    assert now[("DD01", "comirnaty", date(2021, 6, 1))] == (600, "forecast")
    assert now[("LZ01", "comirnaty", date(2021, 5, 4))] == (600, "forecast")
    assert now[("DD01", "moderna", date(2021, 5, 4))] == (500, "forecast")
    revision = DeliveryRevision.objects.get(upload=second)
    assert (revision.old_doses, revision.old_status, revision.new_doses, revision.new_status) == (
        600,
        "forecast",
        600,
        "cancelled",
    )
    # once cancelled, the same file again withdraws nothing more
    third = upload_preview(
        file=make_file(
            [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose", "DD01;comirnaty;2021-05-05;600;prognose"]
        ),
        file_format=OWN,
        user=staff,
    )
    assert third.summary["withdrawn"] == 0


def test_apply_recomputes_the_difference_against_the_database(centres, staff, make_file):
    lines = [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose", "DD01;comirnaty;2021-05-04;600;prognose"]
    first = upload_preview(file=make_file(lines), file_format=OWN, user=staff)
    second = upload_preview(file=make_file(lines), file_format=OWN, user=staff)
    assert second.summary["new"] == 2
    upload_apply(upload=first, user=staff)
    result = upload_apply(upload=second, user=staff)
    assert (result.created, result.unchanged, result.plan_run) == (0, 2, None)
    assert Delivery.objects.count() == 2


def test_apply_is_all_or_nothing(centres, staff, make_file, stored, monkeypatch):
    preview_and_apply(
        make_file,
        staff,
        [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose", "DD01;comirnaty;2021-05-04;600;prognose"],
    )
    upload = upload_preview(
        file=make_file(
            [
                OWN_HEADER,
                "DD01;comirnaty;2021-05-03;1200;bestätigt",  # changed
                "DD01;comirnaty;2021-05-05;600;prognose",  # new
                "DD01;comirnaty;2021-05-06;600;prognose",  # new
                # 2021-05-04 withdrawn
            ]
        ),
        file_format=OWN,
        user=staff,
    )
    before = stored()
    build = uploads.delivery_revision_build
    calls = []

    def failing_build(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return build(**kwargs)

    monkeypatch.setattr(uploads, "delivery_revision_build", failing_build)
    with pytest.raises(RuntimeError):
        upload_apply(upload=upload, user=staff)
    assert len(calls) == 3
    assert stored() == before
    upload.refresh_from_db()
    assert upload.state == DeliveryUpload.State.PREVIEWED
    assert upload.applied_at is None

    monkeypatch.setattr(uploads, "delivery_revision_build", build)
    result = upload_apply(upload=upload, user=staff)
    assert (result.created, result.changed, result.withdrawn) == (2, 1, 1)


def test_apply_twice_or_after_discard_is_refused(centres, staff, make_file, stored):
    upload, _result = preview_and_apply(
        make_file, staff, [OWN_HEADER, "DD01;comirnaty;2021-05-03;1170;prognose"]
    )
    before = stored()
    with pytest.raises(UploadNotApplicable, match=r"bereits am .* übernommen"):
        upload_apply(upload=upload, user=staff)
    with pytest.raises(UploadNotApplicable, match="nicht mehr verworfen"):
        upload_discard(upload=upload, user=staff)
    assert stored() == before

    other = upload_preview(
        file=make_file([OWN_HEADER, "DD01;comirnaty;2021-05-03;5;prognose"]), file_format=OWN, user=staff
    )
    upload_discard(upload=other, user=staff)
    assert other.state == DeliveryUpload.State.DISCARDED
    with pytest.raises(UploadNotApplicable, match="verworfen"):
        upload_apply(upload=other, user=staff)
    with pytest.raises(UploadNotApplicable, match="bereits verworfen"):
        upload_discard(upload=other, user=staff)
    assert deliveries() == {("DD01", "comirnaty", date(2021, 5, 3)): (1170, "forecast")}


def test_xlsx_upload_is_applied_like_csv(centres, staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Zentrum", "Impfstoff", "Datum", "Dosen", "Status"])
    sheet.append(["CN01", "astra", date(2021, 5, 4), 2400, "geliefert"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = upload_preview(
        file=SimpleUploadedFile("lieferungen.xlsx", buffer.getvalue()), file_format=OWN, user=staff
    )
    upload_apply(upload=upload, user=staff)
    assert deliveries() == {("CN01", "astra", date(2021, 5, 4)): (2400, "delivered")}


# --- Bad files: every case refused with its message, nothing stored --------------------------


def _xlsx(*sheets, formula=False):
    workbook = openpyxl.Workbook()
    workbook.active.title = sheets[0]
    for title in sheets[1:]:
        workbook.create_sheet(title)
    workbook.active.append(["zentrum", "impfstoff", "datum", "dosen", "status"])
    workbook.active.append(["DD01", "astra", date(2021, 5, 3), "=SUM(1,2)" if formula else 10, "geliefert"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


FUTURE = (date.today() + timedelta(days=400)).isoformat()

BAD_FILES = {
    "latin-1": (
        (OWN_HEADER + "\nDD01;astra;2021-05-03;10;bestätigt\n").encode("cp1252"),
        OWN,
        ["nicht in UTF-8", "Windows-1252/Latin-1", "CSV UTF-8"],
    ),
    "missing column": (
        "zentrum;impfstoff;datum;dosen\nDD01;astra;2021-05-03;10\n",
        OWN,
        ["fehlen die Spalten: status"],
    ),
    "extra column": (
        f"{OWN_HEADER};charge\nDD01;astra;2021-05-03;10;geliefert;AB12\n",
        OWN,
        ["Unbekannte Spalten: charge"],
    ),
    "unknown centre": (
        f"{OWN_HEADER}\nXX99;astra;2021-05-03;10;geliefert\n",
        OWN,
        ["Unbekanntes Impfzentrum „XX99“"],
    ),
    "unknown vaccine": (
        f"{OWN_HEADER}\nDD01;sputnik;2021-05-03;10;geliefert\n",
        OWN,
        ["Unbekannter Impfstoff „sputnik“"],
    ),
    "negative doses": (f"{OWN_HEADER}\nDD01;astra;2021-05-03;-10;geliefert\n", OWN, ["nicht negativ"]),
    "fractional doses": (f"{OWN_HEADER}\nDD01;astra;2021-05-03;10,5;geliefert\n", OWN, ["Nachkommastellen"]),
    "bad date": (
        f"{OWN_HEADER}\nDD01;astra;3.5.21;10;geliefert\n",
        OWN,
        ["kein Datum", "JJJJ-MM-TT oder TT.MM.JJJJ"],
    ),
    "date too early": (
        f"{OWN_HEADER}\nDD01;astra;2020-11-30;10;geliefert\n",
        OWN,
        ["außerhalb", "vom 01.12.2020 bis"],
    ),
    "date too late": (f"{OWN_HEADER}\nDD01;astra;{FUTURE};10;geliefert\n", OWN, ["außerhalb", "365 Tage"]),
    "duplicate": (
        f"{OWN_HEADER}\nDD01;astra;2021-05-03;10;geliefert\nDD01;astra;03.05.2021;20;geliefert\n",
        OWN,
        ["Doppelte Lieferung", "Zeile 2", "Zeile 3"],
    ),
    "two sheets": (_xlsx("Lieferungen", "Notizen"), OWN, ["2 Tabellenblätter", "„Lieferungen“, „Notizen“"]),
    "formulas": (_xlsx("Lieferungen", formula=True), OWN, ["Formeln (in D2)"]),
    "empty": (b"", OWN, ["Die Datei ist leer."]),
    "header only": (f"{OWN_HEADER}\n", OWN, ["nur die Kopfzeile"]),
    "not csv or xlsx": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00",
        OWN,
        ["weder eine CSV/TSV-Textdatei noch"],
    ),
    "impfdashboard as own": (
        f"{TSV_HEADER}\n2021-05-03\tastra\tDE-SN\t100\timpfzentren\n",
        OWN,
        ["impfdashboard-Lieferdatei", "impfdashboard-Lieferungen (TSV)"],
    ),
    "own as impfdashboard": (
        f"{OWN_HEADER}\nDD01;astra;2021-05-03;10;geliefert\n",
        IMPFDASHBOARD,
        ["Impfportal-Formats"],
    ),
    "old impfdashboard": (SNAPSHOT_FILE.read_bytes(), IMPFDASHBOARD, ["vier Spalten", "Arztpraxen"]),
    "impfdashboard xlsx": (_xlsx("Lieferungen"), IMPFDASHBOARD, ["TSV"]),
    "unknown format": (
        f"{OWN_HEADER}\nDD01;astra;2021-05-03;10;geliefert\n",
        "pdf",
        ["Unbekanntes Dateiformat"],
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_with_a_specific_message_and_nothing_is_stored(
    case, centres, staff, make_file, stored
):
    preview_and_apply(make_file, staff, [OWN_HEADER, "DD01;astra;2021-05-03;10;prognose"])
    content, file_format, expected = BAD_FILES[case]
    before = stored()
    with pytest.raises(UploadInvalid) as caught:
        upload_preview(file=make_file(content), file_format=file_format, user=staff)
    text = " ".join(error.message for error in caught.value.errors)
    for part in expected:
        assert part in text
    assert stored() == before


class UnreadableFile:
    """A file too large to be read: the service must refuse it by its size alone."""

    name = "riesig.csv"
    size = 6 * 1024 * 1024

    def read(self, *args):
        raise AssertionError("read before the size was checked")

    def chunks(self, *args):
        raise AssertionError("read before the size was checked")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(centres, staff, stored):
    before = stored()
    with pytest.raises(UploadInvalid) as caught:
        upload_preview(file=UnreadableFile(), file_format=OWN, user=staff)
    ((error),) = caught.value.errors
    assert "6 MB" in error.message
    assert "höchstens 5 MB" in error.message
    assert stored() == before


def test_several_bad_rows_are_all_reported_and_nothing_changes(centres, staff, make_file, stored):
    """DESIGN invariant 11: an upload with any bad row changes nothing and reports every bad row."""
    preview_and_apply(make_file, staff, [OWN_HEADER, "DD01;astra;2021-05-03;10;prognose"])
    before = stored()
    lines = [
        OWN_HEADER,
        "DD01;astra;2021-05-03;20;bestätigt",  # fine, would change the delivery
        "DD01;astra;2021-05-04;-5;prognose",
        "LZ01;astra;2021-05-04;10;prognose",  # fine
        "QQ01;astra;2021-05-04;10;prognose",
        "LZ01;astra;2021-13-01;10;prognose",
        "LZ01;astra;2021-05-05;10;unterwegs",
    ]
    with pytest.raises(UploadInvalid) as caught:
        upload_preview(file=make_file(lines), file_format=OWN, user=staff)
    assert [(error.row, error.column) for error in caught.value.errors] == [
        (3, "dosen"),
        (5, "zentrum"),
        (6, "datum"),
        (7, "status"),
    ]
    assert all(error.message for error in caught.value.errors)
    assert stored() == before
    assert deliveries() == {("DD01", "astra", date(2021, 5, 3)): (10, "forecast")}


# --- impfdashboard: split, returns, status -----------------------------------------------------


@pytest.fixture
def two_centres(centres):
    """A distribution key that splits 1:1 between Dresden and Leipzig."""
    DistributionKey.objects.create(centre=centres["DD01"], weight=1)
    DistributionKey.objects.create(centre=centres["LZ01"], weight=1)
    return centres


def test_impfdashboard_sums_a_day_splits_by_key_and_sets_the_status(two_centres, staff, make_file):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    upload, result = preview_and_apply(
        make_file,
        staff,
        [
            TSV_HEADER,
            "2021-03-30\tcomirnaty\tDE-SN\t52650\timpfzentren",
            "2021-03-30\tcomirnaty\tDE-SN\t93600\timpfzentren",
            "2021-03-30\tcomirnaty\tDE-SN\t40848\tarztpraxen",
            "2021-03-30\tcomirnaty\tDE-BY\t99999\timpfzentren",
            "2021-04-17\tmoderna\tDE-SN\t0\timpfzentren",
            f"{tomorrow}\tmoderna\tDE-SN\t1010\timpfzentren",
        ],
        file_format=IMPFDASHBOARD,
        name="germany_deliveries_timeseries_v2.tsv",
    )
    # 146,250 doses = 24,375 vials of 6: 12,188 to DD01 (tie, first code), 12,187 to LZ01
    assert deliveries() == {
        ("DD01", "comirnaty", date(2021, 3, 30)): (73128, "delivered"),
        ("LZ01", "comirnaty", date(2021, 3, 30)): (73122, "delivered"),
        ("DD01", "moderna", date.fromisoformat(tomorrow)): (510, "forecast"),
        ("LZ01", "moderna", date.fromisoformat(tomorrow)): (500, "forecast"),
    }
    assert upload.summary["ignored"] == 2
    assert upload.summary["ignored_detail"] == {"DE-BY / impfzentren": 1, "DE-SN / arztpraxen": 1}
    assert (upload.date_from, upload.date_to) == (date(2021, 3, 30), date.fromisoformat(tomorrow))
    notices = " ".join(upload.summary["notices"])
    assert "Verteilschlüssel" in notices
    assert "1 Lieferereignisse" in notices
    # the scope is every active centre with the file's vaccines
    assert len(upload.summary["scope"]) == 13 * 2
    assert result.created == 4


def test_impfdashboard_returns_never_take_a_centre_below_zero(two_centres, staff, make_file):
    # Before the file: LZ01 holds 600 astra doses (outside the file's range), DD01 none.
    preview_and_apply(make_file, staff, [OWN_HEADER, "LZ01;astra;2021-02-01;600;geliefert"])
    upload = upload_preview(
        file=make_file(
            [
                TSV_HEADER,
                "2021-02-06\tastra\tDE-SN\t1000\timpfzentren",
                "2021-08-20\tastra\tDE-SN\t-2000\timpfzentren",
            ]
        ),
        file_format=IMPFDASHBOARD,
        user=staff,
    )
    notices = " ".join(upload.summary["notices"])
    assert "Rückgabe am 20.08.2021 (astra): DD01 sollte 1000 Dosen zurückgeben, hatte aber nur 500" in notices
    assert "LZ01" not in notices.split("Rückgabe")[1]
    assert upload.summary["return_shortfall"] == 500
    upload_apply(upload=upload, user=staff)
    now = deliveries()
    assert now[("DD01", "astra", date(2021, 8, 20))] == (-500, "delivered")
    assert now[("LZ01", "astra", date(2021, 8, 20))] == (-1000, "delivered")
    totals = {
        code: sum(doses for (centre, _v, _d), (doses, _s) in now.items() if centre == code)
        for code in ("DD01", "LZ01")
    }
    assert totals == {"DD01": 0, "LZ01": 100}


def test_impfdashboard_without_any_weight_is_refused(centres, staff, make_file, stored):
    for centre in centres.values():
        centre.active = False
        centre.save(update_fields=["active"])
    before = stored()
    with pytest.raises(UploadInvalid, match="keinem Impfzentrum zugeteilt"):
        upload_preview(
            file=make_file([TSV_HEADER, "2021-02-06\tastra\tDE-SN\t1000\timpfzentren"]),
            file_format=IMPFDASHBOARD,
            user=staff,
        )
    assert stored() == before


def test_impfdashboard_restated_row_changes_and_missing_day_is_withdrawn(two_centres, staff, make_file):
    first = [
        TSV_HEADER,
        "2021-04-13\tcomirnaty\tDE-SN\t76050\timpfzentren",
        "2021-04-14\tcomirnaty\tDE-SN\t600\timpfzentren",
        "2021-04-20\tcomirnaty\tDE-SN\t105300\timpfzentren",
    ]
    preview_and_apply(make_file, staff, first, file_format=IMPFDASHBOARD)
    second = [first[0], "2021-04-13\tcomirnaty\tDE-SN\t73611\timpfzentren", first[3]]
    upload, result = preview_and_apply(make_file, staff, second, file_format=IMPFDASHBOARD)
    assert (result.created, result.changed, result.withdrawn, result.unchanged) == (0, 2, 2, 2)
    assert sum(d for (_c, _v, day), (d, _s) in deliveries().items() if day == date(2021, 4, 13)) == 73611
    assert {s for (_c, _v, day), (_d, s) in deliveries().items() if day == date(2021, 4, 14)} == {"cancelled"}
    assert DeliveryRevision.objects.filter(upload=upload).count() == 4
