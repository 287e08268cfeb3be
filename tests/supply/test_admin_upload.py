"""The delivery upload in the admin, end to end with the test client, and the delivery admins."""

import csv
import io
from collections import defaultdict
from datetime import date

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse

from supply import parsers
from supply.distribution import capacity_weights
from supply.models import Delivery, DeliveryRevision, DeliveryUpload, DistributionKey, PlanRun, Vaccine
from tests.supply.conftest import IMPFDASHBOARD_FILE, OWN_HEADER

pytestmark = pytest.mark.django_db

UPLOAD_URL = "admin:supply_deliveryupload_upload"
CHANGELIST_URL = "admin:supply_deliveryupload_changelist"

# SOURCES.md: doses delivered to DE-SN for `impfzentren` up to 2021-09-30.
STATE_TOTALS = {"comirnaty": 2_132_125, "moderna": 517_200, "johnson": 89_100, "astra": 390_700}


@pytest.fixture
def admin(client, staff):
    client.force_login(staff)
    return client


def post_upload(admin, content, file_format, name="lieferungen.csv"):
    return admin.post(
        reverse(UPLOAD_URL),
        {"file": SimpleUploadedFile(name, content), "file_format": file_format},
    )


def preview_url(upload):
    return reverse("admin:supply_deliveryupload_preview", args=[upload.pk])


def state_totals_per_day():
    """(day, vaccine) -> summed doses of the real file's DE-SN `impfzentren` rows, read independently."""
    totals = defaultdict(int)
    with IMPFDASHBOARD_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["region"] == "DE-SN" and row["einrichtung"] == "impfzentren":
                totals[date.fromisoformat(row["date"]), row["impfstoff"]] += int(row["dosen"])
    return totals


def plan_run_link(run):
    try:
        return reverse("admin:supply_planrun_change", args=[run.pk])
    except NoReverseMatch:  # the plan run admin belongs to the planner, which may not be there yet
        return None


def test_the_real_impfdashboard_file_through_the_admin(centres, admin, planner_calls):
    response = post_upload(
        admin, IMPFDASHBOARD_FILE.read_bytes(), "impfdashboard", name="germany_deliveries_timeseries_v2.tsv"
    )
    upload = DeliveryUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(upload)
    assert Delivery.objects.count() == 0  # a preview writes no delivery

    page = admin.get(preview_url(upload))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Neue Lieferungen" in content
    assert 'id="count-ignored">66 (DE-SN / arztpraxen: 66)' in content
    assert 'id="count-changed">0' in content
    assert "Übernehmen und Planer starten" in content
    assert page.context["counts"]["new"] == upload.summary["new"] == len(upload.rows)

    response = admin.post(preview_url(upload), {"action": "apply"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(CHANGELIST_URL)
    message = " ".join(str(m) for m in response.context["messages"])
    assert (
        f"{len(upload.rows)} Lieferungen geändert ({len(upload.rows)} neu, 0 geändert, 0 storniert)"
        in message
    )
    assert "Der Planer wurde gestartet" in message
    run = PlanRun.objects.get()
    link = plan_run_link(run)
    if link:
        assert link in message
    upload.refresh_from_db()
    assert upload.state == DeliveryUpload.State.APPLIED
    assert (
        DeliveryRevision.objects.filter(upload=upload).count() == Delivery.objects.count() == len(upload.rows)
    )

    # Totals per vaccine are the state's totals for the centres (returns included: no centre
    # ran short, so the capped-return rule takes the whole 151,700 astra doses back).
    totals = defaultdict(int)
    for vaccine, doses in Delivery.objects.filter(date__lte=date(2021, 9, 30)).values_list(
        "vaccine__code", "doses"
    ):
        totals[vaccine] += doses
    assert dict(totals) == STATE_TOTALS
    assert not any("Rückgabe" in notice for notice in upload.summary["notices"])
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}

    # Whole vials for every centre, vaccine and day, except one remainder below a vial, and
    # each centre's share follows the weights (weekday capacity: no distribution key).
    per_vial = dict(Vaccine.objects.values_list("code", "doses_per_vial"))
    weights = {centre.code: capacity_weights()[centre.id] for centre in centres.values()}
    weight_sum = sum(weights.values())
    per_day = defaultdict(dict)
    for code, vaccine, day, doses in Delivery.objects.values_list(
        "centre__code", "vaccine__code", "date", "doses"
    ):
        per_day[day, vaccine][code] = doses
    state = state_totals_per_day()
    assert set(per_day) == {key for key, total in state.items() if total}
    for (day, vaccine), shares in per_day.items():
        total, vial = state[day, vaccine], per_vial[vaccine]
        assert sum(shares.values()) == total
        part_filled = [doses for doses in shares.values() if doses % vial]
        assert len(part_filled) <= 1
        if part_filled:
            assert abs(part_filled[0]) % vial == abs(total) % vial
        for code, doses in shares.items():
            assert abs(doses - total * weights[code] / weight_sum) < 2 * vial
    # e.g. Chemnitz gets 2,400 / 10,080 of all comirnaty, within a vial per delivery day
    chemnitz = sum(
        shares.get("CN01", 0) for (day, vaccine), shares in per_day.items() if vaccine == "comirnaty"
    )
    assert abs(chemnitz - STATE_TOTALS["comirnaty"] * 2400 / 10_080) < 6 * 60

    # No centre's cumulative astra ever goes below zero.
    for code in centres:
        stock = 0
        for doses in (
            Delivery.objects.filter(centre__code=code, vaccine__code="astra")
            .order_by("date")
            .values_list("doses", flat=True)
        ):
            stock += doses
            assert stock >= 0

    # The same file again: everything unchanged, nothing written, no plan run.
    before = (Delivery.objects.count(), DeliveryRevision.objects.count(), PlanRun.objects.count())
    rows_before = sorted(Delivery.objects.values_list("id", "doses", "status", "upload_id"))
    post_upload(
        admin, IMPFDASHBOARD_FILE.read_bytes(), "impfdashboard", name="germany_deliveries_timeseries_v2.tsv"
    )
    again = DeliveryUpload.objects.latest("uploaded_at")
    assert again.pk != upload.pk
    content = admin.get(preview_url(again)).content.decode()
    assert f'id="count-unchanged">{len(upload.rows)}' in content
    assert 'id="count-new">0' in content
    assert "Die Datei enthält keine Änderungen." in content
    response = admin.post(preview_url(again), {"action": "apply"}, follow=True)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "keine Änderungen" in message
    assert (Delivery.objects.count(), DeliveryRevision.objects.count(), PlanRun.objects.count()) == before
    assert sorted(Delivery.objects.values_list("id", "doses", "status", "upload_id")) == rows_before


def test_the_upload_page_offers_the_formats_and_templates(centres, admin):
    page = admin.get(reverse(UPLOAD_URL))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="file"' in content and 'name="file_format"' in content
    assert reverse("admin:supply_deliveryupload_template", args=["csv"]) in content
    assert reverse("admin:supply_deliveryupload_template", args=["xlsx"]) in content
    assert "einrichtung" in content and "DD01" in content

    changelist = admin.get(reverse(CHANGELIST_URL)).content.decode()
    assert "Lieferungen hochladen" in changelist
    assert reverse(UPLOAD_URL) in changelist
    add = admin.get(reverse("admin:supply_deliveryupload_add"))
    assert add["Location"] == reverse(UPLOAD_URL)


def test_template_downloads(centres, admin):
    response = admin.get(reverse("admin:supply_deliveryupload_template", args=["csv"]))
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbfzentrum;impfstoff;datum;dosen;status")
    response = admin.get(reverse("admin:supply_deliveryupload_template", args=["xlsx"]))
    assert "attachment" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Lieferungen"]
    assert [cell.value for cell in workbook.active[1]] == list(parsers.OWN_COLUMNS)
    # a downloaded template can be uploaded as it is
    assert post_upload(admin, response.content, "own", name="vorlage.xlsx").status_code == 302


def test_upload_errors_are_shown_as_a_table_and_nothing_is_stored(centres, admin, stored):
    before = stored()
    content = "\n".join(
        [
            OWN_HEADER,
            "DD01;astra;2021-05-03;-5;prognose",
            "QQ01;astra;2021-05-04;10;prognose",
            "DD01;astra;x;1;prognose",
        ]
    ).encode()
    response = post_upload(admin, content, "own", name="falsch.csv")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="upload-errors"' in html
    assert '<th scope="col">Zeile</th>' in html and '<th scope="col">Spalte</th>' in html
    assert "„falsch.csv“ wurde nicht übernommen: 3 Fehler" in html
    errors = response.context["errors"]
    assert [(error.row, error.column) for error in errors] == [(2, "dosen"), (3, "zentrum"), (4, "datum")]
    assert stored() == before


def test_a_6_mb_file_is_refused_by_its_size(centres, admin, stored):
    before = stored()
    content = (OWN_HEADER + "\n").encode() + b"DD01;astra;2021-05-03;10;prognose\n" * (6 * 1024 * 1024 // 34)
    content = content.ljust(6 * 1024 * 1024, b"\n")[: 6 * 1024 * 1024]
    response = post_upload(admin, content, "own", name="riesig.csv")
    assert response.status_code == 200
    (error,) = response.context["errors"]
    assert error.message.startswith("Die Datei ist 6 MB groß; erlaubt sind höchstens 5 MB.")
    assert stored() == before


def test_discard_and_refused_second_apply_in_the_admin(centres, admin):
    post_upload(admin, f"{OWN_HEADER}\nDD01;astra;2021-05-03;10;prognose\n".encode(), "own")
    upload = DeliveryUpload.objects.get()
    admin.post(preview_url(upload), {"action": "apply"})
    response = admin.post(preview_url(upload), {"action": "apply"}, follow=True)
    assert response.redirect_chain[-1][0] == preview_url(upload)
    assert "bereits am" in " ".join(str(m) for m in response.context["messages"])
    assert Delivery.objects.count() == 1

    post_upload(admin, f"{OWN_HEADER}\nDD01;astra;2021-05-03;20;prognose\n".encode(), "own")
    other = DeliveryUpload.objects.latest("uploaded_at")
    content = admin.get(preview_url(other)).content.decode()
    assert "Geänderte Lieferungen (1)" in content
    response = admin.post(preview_url(other), {"action": "discard"}, follow=True)
    assert "verworfen" in " ".join(str(m) for m in response.context["messages"])
    other.refresh_from_db()
    assert other.state == DeliveryUpload.State.DISCARDED
    assert Delivery.objects.get().doses == 10
    assert "Dieser Upload wurde verworfen." in admin.get(preview_url(other)).content.decode()
    assert admin.post(preview_url(other), {"action": "nonsense"}).status_code == 400


def test_uploads_are_read_only_in_the_admin(centres, admin):
    post_upload(admin, f"{OWN_HEADER}\nDD01;astra;2021-05-03;10;prognose\n".encode(), "own")
    upload = DeliveryUpload.objects.get()
    url = reverse("admin:supply_deliveryupload_change", args=[upload.pk])
    page = admin.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert preview_url(upload) in page.content.decode()
    assert admin.post(url, {"file_name": "x"}).status_code == 403
    assert admin.get(reverse("admin:supply_deliveryupload_delete", args=[upload.pk])).status_code == 403
    assert admin.get(reverse(CHANGELIST_URL)).status_code == 200


def test_staff_without_permission_cannot_upload(centres, client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password=None, is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse(UPLOAD_URL)).status_code == 403


def test_editing_a_delivery_in_the_admin_writes_a_revision(centres, admin, staff):
    vaccine = Vaccine.objects.get(code="astra")
    response = admin.post(
        reverse("admin:supply_delivery_add"),
        {
            "centre": centres["DD01"].pk,
            "vaccine": vaccine.pk,
            "date": "03.05.2021",
            "doses": "100",
            "status": "forecast",
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    delivery = Delivery.objects.get()
    url = reverse("admin:supply_delivery_change", args=[delivery.pk])
    response = admin.post(
        url,
        {"doses": "120", "status": "confirmed", "revisions-TOTAL_FORMS": "1", "revisions-INITIAL_FORMS": "1"}
        | {"revisions-0-id": delivery.revisions.get().pk, "revisions-0-delivery": delivery.pk},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    revisions = list(
        delivery.revisions.order_by("id").values_list("old_doses", "old_status", "new_doses", "new_status")
    )
    assert revisions == [(None, "", 100, "forecast"), (100, "forecast", 120, "confirmed")]
    assert set(delivery.revisions.values_list("changed_by", flat=True)) == {staff.pk}
    page = admin.get(url).content.decode()
    assert "bestätigt" in page  # the revision inline shows status labels
    assert admin.get(reverse("admin:supply_delivery_delete", args=[delivery.pk])).status_code == 403
    changelist = admin.get(reverse("admin:supply_delivery_changelist") + "?status__exact=confirmed")
    assert changelist.status_code == 200


def test_distribution_key_admin_shows_shares(centres, admin):
    page = admin.get(reverse("admin:supply_distributionkey_changelist")).content.decode()
    assert "kein Verteilschlüssel gepflegt" in page
    assert "23,8 %" in page  # Chemnitz: 2,400 of 10,080
    DistributionKey.objects.create(centre=centres["DD01"], weight=3)
    DistributionKey.objects.create(centre=centres["LZ01"], weight=1)
    page = admin.get(reverse("admin:supply_distributionkey_changelist")).content.decode()
    assert "75,0 %" in page and "25,0 %" in page
    assert 'name="form-0-weight"' in page  # list_editable


def test_vaccine_admin_with_age_rules(centres, admin):
    vaccine = Vaccine.objects.get(code="astra")
    page = admin.get(reverse("admin:supply_vaccine_change", args=[vaccine.pk]))
    assert page.status_code == 200
    assert "GMK 30.03.2021" in page.content.decode()


def test_editing_a_delivery_in_the_admin_records_a_revision_and_starts_the_planner(
    admin_client, centres, planner_calls, django_capture_on_commit_callbacks
):
    delivery = Delivery.objects.create(
        centre=centres["DD01"],
        vaccine=Vaccine.objects.get(code="moderna"),
        date=date(2021, 5, 3),
        doses=1000,
        status=Delivery.Status.FORECAST,
    )
    url = reverse("admin:supply_delivery_change", args=[delivery.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"doses": 600, "status": "confirmed", **INLINE_MANAGEMENT}, follow=True
        )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.doses, delivery.status) == (600, "confirmed")
    revision = DeliveryRevision.objects.get(delivery=delivery)
    assert (revision.old_doses, revision.new_doses, revision.upload) == (1000, 600, None)
    run = PlanRun.objects.get()
    assert planner_calls == [run.pk]
    assert "Der Planer wurde gestartet" in response.content.decode()

    # Saving without a change writes no revision and plans nothing.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"doses": 600, "status": "confirmed", **INLINE_MANAGEMENT})
    assert DeliveryRevision.objects.filter(delivery=delivery).count() == 1
    assert planner_calls == [run.pk]


INLINE_MANAGEMENT = {
    "revisions-TOTAL_FORMS": "0",
    "revisions-INITIAL_FORMS": "0",
    "revisions-MIN_NUM_FORMS": "0",
    "revisions-MAX_NUM_FORMS": "0",
}
