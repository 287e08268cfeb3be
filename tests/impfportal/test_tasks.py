"""DESIGN invariant 12: task enqueues happen only after the transaction commits."""

import pytest

from supply.models import PlanRun
from supply.services.planning import plan_run_request


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "impfportal.tasks.async_task", lambda func, *args, **kwargs: calls.append((func, args))
    )
    return calls


@pytest.mark.django_db
def test_a_task_is_enqueued_only_when_the_transaction_commits(enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = plan_run_request(reason="test")
    assert enqueued == []  # still inside the transaction: nothing queued yet
    for callback in callbacks:
        callback()
    assert enqueued == [("supply.tasks.plan_run_execute", (run.pk,))]


@pytest.mark.django_db
def test_a_rolled_back_transaction_enqueues_nothing(enqueued, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                plan_run_request(reason="test")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert enqueued == []
    assert not PlanRun.objects.exists()
