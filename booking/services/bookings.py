"""Confirming a held pair into a booking, cancelling it, moving its second dose."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import locking
from booking.codes import identity, new_code
from booking.exceptions import (
    AlreadyBooked,
    BookingCancelled,
    HoldExpired,
    HoldNotFound,
    MoveNotPossible,
    NotEligible,
)
from booking.models import Booking, Channel, Hold, Person, Registration
from booking.selectors import booking_for_person, booking_lookup, eligibility
from booking.services.holds import swap_seconds
from booking.signals import booking_confirmed
from impfportal.tasks import enqueue_on_commit
from supply.models import Appointment


@dataclass(frozen=True)
class PersonData:
    first_name: str
    last_name: str
    birth_date: date
    postcode: str
    email: str = ""
    phone: str = ""


@transaction.atomic(durable=True)
def booking_confirm(
    *,
    token,
    person: PersonData | None = None,
    registration: Registration | None = None,
    channel: str = Channel.ONLINE,
    agent: str = "",
    declared_group: int | None = None,
    language: str = "de",
) -> Booking:
    """Book a held pair for a person (entered now, or registered before).

    Re-checks under the lock that the hold is live and the person eligible and not booked yet;
    a second confirm of the same hold returns the first one's booking; receivers of
    `booking_confirmed` (the waiting room's admission) may still refuse. The confirmation
    e-mail is sent after commit. Raises HoldNotFound, HoldExpired, NotEligible, AlreadyBooked.
    """
    hold = (
        Hold.objects.select_for_update(of=("self",))
        .select_related("first__vaccine")
        .filter(token=token)
        .first()
    )
    if hold is None:
        raise HoldNotFound()
    if hold.booking_id is not None:
        return hold.booking  # a double-submitted form: the same booking
    pair = hold.appointment_ids
    if hold.released_at is not None or not locking.lock_held(hold.token, pair):
        raise HoldExpired()
    data = person or _registered(registration)
    first_day = timezone.localtime(hold.first.starts_at).date()
    check = eligibility(birth_date=data.birth_date, declared_group=declared_group, on=first_day)
    if not check.eligible:
        raise NotEligible(check.reason)
    if hold.first.vaccine_id not in check.vaccine_ids:
        raise NotEligible(_vaccine_not_allowed(hold.first.vaccine, check.age))
    key = identity(data.first_name, data.last_name, data.birth_date)
    existing = booking_for_person(identity=key)
    if existing is not None:
        raise AlreadyBooked(existing.masked_code)
    booking = _create(hold, data, key, registration, channel, agent, language)
    Appointment.objects.filter(pk__in=pair).update(booked=True, claim_token=None, claimed_until=None)
    hold.booking = booking
    hold.save(update_fields=["booking"])
    booking_confirmed.send(sender=Booking, booking=booking, hold=hold)
    enqueue_on_commit("booking.tasks.booking_confirmation_send", booking.pk)
    return booking


def _registered(registration: Registration | None) -> PersonData:
    if registration is None:
        raise ValueError("booking_confirm needs a person or a registration")
    p = registration.person
    return PersonData(p.first_name, p.last_name, p.birth_date, p.postcode, p.email, p.phone)


def _vaccine_not_allowed(vaccine, age: int) -> str:
    return _(
        "{vaccine} ist für Ihr Alter ({age} Jahre) nicht zugelassen. "
        "Bitte wählen Sie einen anderen Impfstoff."
    ).format(vaccine=vaccine.name, age=age)


def _create(
    hold: Hold, data: PersonData, key: str, registration, channel: str, agent: str, language: str
) -> Booking:
    """The person and booking rows. The database keeps one active booking per identity: a
    concurrent confirm for the same person fails here, and is told about the other booking."""
    try:
        with transaction.atomic():
            person = (
                registration.person
                if registration
                else Person.objects.create(
                    first_name=data.first_name.strip(),
                    last_name=data.last_name.strip(),
                    birth_date=data.birth_date,
                    email=data.email.strip(),
                    phone=data.phone.strip(),
                    postcode=data.postcode,
                    identity=key,
                )
            )
            return Booking.objects.create(
                code=new_code(),
                person=person,
                identity=key,
                first_id=hold.first_id,
                second_id=hold.second_id,
                channel=channel,
                agent=agent,
                language=language,
            )
    except IntegrityError:
        existing = booking_for_person(identity=key)
        if existing is None:
            raise
        raise AlreadyBooked(existing.masked_code) from None


@transaction.atomic(durable=True)
def booking_cancel(*, code: str, birth_date: date) -> Booking:
    """Cancel a booking; both appointments are free again at once.
    Raises BookingNotFound, BookingCancelled."""
    booking = _locked(code, birth_date)
    pair = booking.appointment_ids
    locking.lock_appointments(pair)
    Appointment.objects.filter(pk__in=pair).update(booked=False, claim_token=None, claimed_until=None)
    booking.status, booking.cancelled_at = Booking.Status.CANCELLED, timezone.now()
    booking.save(update_fields=["status", "cancelled_at", "changed_at"])
    return booking


@transaction.atomic(durable=True)
def booking_move_second(*, code: str, birth_date: date, starts_at: datetime) -> Booking:
    """Move a booking's second dose to another free second-dose appointment at `starts_at`
    (booking.selectors.second_dose_options). Raises BookingNotFound, BookingCancelled, MoveNotPossible."""
    booking = _locked(code, birth_date)
    if booking.second_id is None:
        raise MoveNotPossible()
    locking.lock_appointments([booking.first_id, booking.second_id])
    first = Appointment.objects.select_related("vaccine").get(pk=booking.first_id)
    old_second = Appointment.objects.get(pk=booking.second_id)
    if old_second.starts_at <= timezone.now():
        raise MoveNotPossible()
    new_second = swap_seconds(first, old_second, starts_at)
    Appointment.objects.filter(pk=new_second).update(booked=True)
    Appointment.objects.filter(pk=old_second.pk).update(booked=False)
    booking.second_id = new_second
    booking.save(update_fields=["second", "changed_at"])
    enqueue_on_commit("booking.tasks.booking_confirmation_send", booking.pk)
    return booking


def _locked(code: str, birth_date: date) -> Booking:
    found = booking_lookup(code=code, birth_date=birth_date)
    booking = Booking.objects.select_for_update().get(pk=found.pk)
    if booking.status != Booking.Status.ACTIVE:
        raise BookingCancelled()
    return booking
