"""Task helpers shared by the apps."""

from django.db import transaction
from django_q.tasks import async_task

from impfportal.api.services import api_records_purge as _purge


def enqueue_on_commit(func_path: str, *args, **kwargs) -> None:
    """Queue a django-q2 task once the current transaction commits (at once outside one).

    Tasks take primary keys, never model instances: a task that ran before the commit, or
    after a rollback, would see rows that do not exist.
    """
    transaction.on_commit(lambda: async_task(func_path, *args, **kwargs))


def api_records_purge() -> tuple[int, int]:
    """Scheduled hourly (migration impfportal 0002)."""
    return _purge()
