"""Writes of the hotline API's own bookkeeping: clients and tokens, request counts, stored
responses for idempotent retries, and the audit log."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from impfportal.models import ApiClient, ApiUsage, AuditEntry, IdempotencyRecord, token_digest

TOKEN_PREFIX = "ipx_"  # recognisable in logs and by secret scanners
IDEMPOTENCY_HOURS = 24
# A request still running after this long is taken for dead (its worker was killed; gunicorn's
# timeout is 30 s): a retry with the same key may then run it again.
IDEMPOTENCY_LEASE_SECONDS = 60


@transaction.atomic  # not durable: the admin saves inside its own transaction
def api_client_create(*, name: str, scopes: list[str], requests_per_minute: int = 1200, created_by=None):
    """A client and its token. The token is returned here once and stored only as a digest."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        name=name,
        scopes=sorted(set(scopes)),
        requests_per_minute=requests_per_minute,
        token_prefix=token[:10],
        token_hash=token_digest(token),
        created_by=created_by,
    )
    return client, token


def api_client_revoke(*, client: ApiClient) -> None:
    """From now on the token is refused; the client and its audit entries stay."""
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def usage_count(*, client_id: int) -> tuple[int, int]:
    """Count one request of this client in the current minute; returns (requests this minute,
    seconds until the next minute). One statement in a transaction of its own: a row lock held
    for microseconds, shared by every web process."""
    with transaction.atomic(), connection.cursor() as cursor:
        # A count lost in a database crash costs nothing: do not wait for the disk.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            """
            INSERT INTO impfportal_apiusage (client_id, minute, count)
            VALUES (%s, date_trunc('minute', now()), 1)
            ON CONFLICT (client_id, minute) DO UPDATE SET count = impfportal_apiusage.count + 1
            RETURNING count, 60 - floor(extract(second FROM now()))::int
            """,
            [client_id],
        )
        return cursor.fetchone()


@dataclass(frozen=True)
class Claimed:
    """This request runs the write; `record_id` is where its response goes."""

    record_id: int


@dataclass(frozen=True)
class Stored:
    """An earlier request with this key: its response (`status_code` None while it still runs)."""

    fingerprint: str
    status_code: int | None
    content_type: str
    content: bytes
    location: str


def idempotency_begin(*, client_id: int, key: str, fingerprint: str) -> Claimed | Stored | None:
    """Claim the key for this request, or return what is stored under it.

    One INSERT in autocommit, so that a parallel request with the same key sees the claim at
    once: the unique (client, key) index lets exactly one of them in. A record older than 24 h,
    or a running one whose lease ran out with the same request, is taken over. None: the record
    vanished between the two statements (its request failed); the caller answers 409, retry.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # No wait for the disk: the write this claim guards commits after it, with the wait,
        # and so makes the claim durable too (the log is flushed in order); if the server
        # crashes before that, neither the claim nor the write happened.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            """
            INSERT INTO impfportal_idempotencyrecord
                (client_id, key, fingerprint, state, locked_until, created_at, content_type, location)
            VALUES (%s, %s, %s, 'running', now() + make_interval(secs => %s), now(), '', '')
            ON CONFLICT (client_id, key) DO UPDATE SET
                fingerprint = EXCLUDED.fingerprint, state = 'running', locked_until = EXCLUDED.locked_until,
                created_at = now(), status_code = NULL, content = NULL, content_type = '', location = ''
            WHERE impfportal_idempotencyrecord.created_at < now() - make_interval(hours => %s)
               OR (impfportal_idempotencyrecord.state = 'running'
                   AND impfportal_idempotencyrecord.locked_until < now()
                   AND impfportal_idempotencyrecord.fingerprint = EXCLUDED.fingerprint)
            RETURNING id
            """,
            [client_id, key, fingerprint, IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_HOURS],
        )
        row = cursor.fetchone()
    if row is not None:
        return Claimed(row[0])
    stored = IdempotencyRecord.objects.filter(client_id=client_id, key=key).first()
    if stored is None:
        return None
    done = stored.state == IdempotencyRecord.State.DONE
    return Stored(
        stored.fingerprint,
        stored.status_code if done else None,
        stored.content_type,
        bytes(stored.content or b""),
        stored.location,
    )


def idempotency_finish(
    *, record_id: int, status_code: int, content_type: str, content: bytes, location: str = ""
) -> None:
    IdempotencyRecord.objects.filter(pk=record_id).update(
        state=IdempotencyRecord.State.DONE,
        status_code=status_code,
        content_type=content_type,
        content=content,
        location=location,
    )


def idempotency_abandon(*, record_id: int) -> None:
    """The request failed on our side (5xx): nothing was written, so a retry may run it anew."""
    IdempotencyRecord.objects.filter(pk=record_id, state=IdempotencyRecord.State.RUNNING).delete()


def audit_record(
    *,
    client_id: int,
    agent: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    status_code: int,
    problem: str = "",
    idempotency_key: str = "",
) -> None:
    AuditEntry.objects.create(
        client_id=client_id,
        agent=agent,
        action=action,
        object_type=object_type,
        object_id=object_id[:64],
        status_code=status_code,
        problem=problem,
        idempotency_key=idempotency_key,
    )


def api_records_purge() -> tuple[int, int]:
    """Delete request counts older than an hour and stored responses older than 24 hours.
    Housekeeping only: an expired record is taken over by the next request anyway."""
    now = timezone.now()
    usage, _ = ApiUsage.objects.filter(minute__lt=now - timedelta(hours=1)).delete()
    records, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - timedelta(hours=IDEMPOTENCY_HOURS)
    ).delete()
    return usage, records
