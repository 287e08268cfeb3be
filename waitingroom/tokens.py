"""The two signed cookies of the waiting room: the ticket (a place in a release's queue) and the
admission (permission to book until a time). Both are signed with SECRET_KEY under their own
salt, so neither can be forged, edited, or passed off as the other; checking them needs no
database query. Copying one to another browser copies the same place or the same admission:
one admission still allows one booking (services.admission_use) and one hold at a time (its
holds all belong to `admission_owner`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

TICKET_COOKIE = "warteraum"
ADMISSION_COOKIE = "einlass"
_TICKET_SALT = "waitingroom.ticket"
_ADMISSION_SALT = "waitingroom.admission"


@dataclass(frozen=True)
class TicketToken:
    release_id: int
    ticket_id: int
    number: int
    code: str


@dataclass(frozen=True)
class Admission:
    release_id: int
    ticket_id: int
    until: datetime

    @property
    def owner(self) -> str:
        return admission_owner(self.ticket_id)


def admission_owner(ticket_id: int) -> str:
    """The owner of the holds made under this admission (booking.Hold.owner)."""
    return f"admission:{ticket_id}"


def ticket_of_owner(owner: str) -> int | None:
    """The ticket whose admission a hold's owner names, or None (a browser session, an agent)."""
    prefix, _, number = owner.partition(":")
    return int(number) if prefix == "admission" and number.isdigit() else None


def ticket_sign(*, release_id: int, ticket_id: int, number: int, code: str) -> str:
    return signing.dumps({"r": release_id, "t": ticket_id, "n": number, "c": code}, salt=_TICKET_SALT)


def ticket_read(value: str | None) -> TicketToken | None:
    data = _load(value, _TICKET_SALT)
    try:
        return TicketToken(int(data["r"]), int(data["t"]), int(data["n"]), str(data["c"]))
    except (KeyError, TypeError, ValueError):
        return None


def admission_sign(*, release_id: int, ticket_id: int, until: datetime) -> str:
    return signing.dumps({"r": release_id, "t": ticket_id, "u": int(until.timestamp())}, salt=_ADMISSION_SALT)


def admission_read(value: str | None) -> Admission | None:
    """The admission in this cookie value if it is genuine, whether or not it has run out
    (`Admission.until`): its holds stay its own after it has run out too."""
    data = _load(value, _ADMISSION_SALT)
    try:
        return Admission(int(data["r"]), int(data["t"]), datetime.fromtimestamp(int(data["u"]), tz=UTC))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _load(value: str | None, salt: str):
    if not value:
        return None
    try:
        return signing.loads(value, salt=salt)
    except signing.BadSignature:
        return None
