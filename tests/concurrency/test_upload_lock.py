"""Two staff members apply uploads at once, in real parallel transactions on PostgreSQL.

Both uploads create the same delivery. A barrier right after each apply has read the
deliveries makes the two meet there. With the upload lock the second apply reads after the
first committed and changes the row; the control without the lock shows the race: both
insert, the unique constraint stops one, and that apply is refused with a conflict
(nothing half-written either way, DESIGN invariant 11).
"""

import contextlib
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from centres.services import centres_load
from supply import selectors
from supply.exceptions import UploadConflict
from supply.models import Delivery, DeliveryRevision
from supply.services import uploads

HEADER = "zentrum;impfstoff;datum;dosen;status"


@pytest.fixture
def two_previews(transactional_db, monkeypatch):
    monkeypatch.setattr("supply.tasks.plan_run_execute", lambda run_id: None)  # planner not under test
    centres_load()
    staff = get_user_model().objects.create_user("logistik", password="x-very-long-password")
    previews = []
    for doses in (600, 1200):
        content = f"{HEADER}\nDD01;comirnaty;2021-05-03;{doses};bestätigt\n".encode()
        previews.append(
            uploads.upload_preview(file=SimpleUploadedFile("l.csv", content), file_format="own", user=staff)
        )
    return staff, previews


def apply_both_at_once(monkeypatch, staff, previews):
    barrier = threading.Barrier(2)
    read = selectors.diff_rows

    def read_then_meet(**kwargs):
        diff = read(**kwargs)
        # With the lock the other apply cannot get here in time: the wait times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        return diff

    monkeypatch.setattr(uploads, "diff_rows", read_then_meet)
    outcomes = []

    def apply(upload):
        try:
            outcomes.append(uploads.upload_apply(upload=upload, user=staff))
        except UploadConflict as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(upload,)) for upload in previews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_lock_both_applies_succeed_one_after_the_other(monkeypatch, two_previews):
    outcomes = apply_both_at_once(monkeypatch, *two_previews)
    assert not [o for o in outcomes if isinstance(o, UploadConflict)]
    assert sorted((o.created, o.changed) for o in outcomes) == [(0, 1), (1, 0)]
    assert Delivery.objects.count() == 1
    assert DeliveryRevision.objects.count() == 2  # one per apply: the creation and the change


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_control_without_the_lock_one_apply_runs_into_the_other(monkeypatch, two_previews):
    monkeypatch.setattr(uploads, "lock_delivery_uploads", lambda: None)
    outcomes = apply_both_at_once(monkeypatch, *two_previews)
    conflicts = [o for o in outcomes if isinstance(o, UploadConflict)]
    assert len(conflicts) == 1  # the race: both tried to create the same delivery
    assert Delivery.objects.count() == 1
    assert DeliveryRevision.objects.count() == 1  # the refused apply wrote nothing
