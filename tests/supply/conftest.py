"""Fixtures of the supply tests: the 13 real centres, a staff user, and helpers for upload files.

The planner may not exist yet while uploads are built: every test here replaces the task that
runs it, so that an upload's tests depend only on the plan run being requested.
"""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from centres.models import Centre
from centres.services import centres_load
from supply.models import Delivery, DeliveryRevision, DeliveryUpload, PlanRun, Vaccine
from tests.factories import CentreFactory

DATA = Path(__file__).resolve().parents[2] / "supply" / "data"
FILES = Path(__file__).resolve().parent / "files"
IMPFDASHBOARD_FILE = DATA / "saxony_deliveries_impfdashboard_2020-12_to_2021-09.tsv"
SNAPSHOT_FILE = DATA / "saxony_deliveries_impfdashboard_snapshot_2021-04-19.tsv"
OWN_HEADER = "zentrum;impfstoff;datum;dosen;status"


@pytest.fixture
def centre(db):
    """A small centre for planning tests (tests may define their own `centre`)."""
    # 2 lanes, 15 minutes: 80 appointments on a weekday (8-18), 64 at weekends (9-17).
    return CentreFactory(code="DD01", lanes=2, minutes_per_vaccination=15)


@pytest.fixture
def vaccines(db):
    return {vaccine.code: vaccine for vaccine in Vaccine.objects.all()}


@pytest.fixture(autouse=True)
def planner_calls(monkeypatch):
    """Run ids the planner task was called with (after commit); the real planner never runs here."""
    calls = []
    monkeypatch.setattr("supply.tasks.plan_run_execute", lambda run_id: calls.append(run_id))
    return calls


@pytest.fixture
def centres(db):
    centres_load()
    return {centre.code: centre for centre in Centre.objects.all()}


@pytest.fixture
def staff(django_user_model):
    # No password: hashing one costs most of a test's time; admin tests use force_login.
    return django_user_model.objects.create_superuser("logistik", "logistik@example.org", None)


@pytest.fixture
def make_file():
    """An uploaded file from text (joined with newlines, encoded UTF-8 unless bytes are given)."""

    def make(content, name="lieferungen.csv"):
        if isinstance(content, list | tuple):
            content = "\n".join(content) + "\n"
        if isinstance(content, str):
            content = content.encode("utf-8")
        return SimpleUploadedFile(name, content)

    return make


@pytest.fixture
def stored():
    """Counts of everything an upload may write, to compare before and after."""

    def count():
        return {
            "deliveries": Delivery.objects.count(),
            "uploads": DeliveryUpload.objects.count(),
            "revisions": DeliveryRevision.objects.count(),
            "plan_runs": PlanRun.objects.count(),
            "delivery_rows": sorted(Delivery.objects.values_list("id", "doses", "status")),
        }

    return count
