"""Releases, the queue and admission through the services (DESIGN invariant 8)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.selectors import free_pairs
from booking.services.bookings import booking_confirm
from booking.services.holds import hold_create_next
from supply.models import Appointment
from tests.booking.conftest import person, tomorrow
from tests.waitingroom.conftest import make_release, open_now, tick
from waitingroom.exceptions import AdmissionLapsed, AdmissionUsed, NotCalledYet, ReleaseInvalid, TooManyJoins
from waitingroom.models import Release, Ticket
from waitingroom.selectors import drawn_places, in_process, place_of, queue_state
from waitingroom.services import admission_enter, queue_join
from waitingroom.tokens import admission_owner

pytestmark = pytest.mark.django_db
Status = Release.Status


def join(release, address="192.0.2.1"):
    return queue_join(release_id=release.pk, client_address=address)


def book(ticket, n):
    """What an admitted person does: hold a pair under the admission, then confirm."""
    hold = hold_create_next(
        centre_id=Appointment.objects.first().centre_id,
        vaccine_id=Appointment.objects.first().vaccine_id,
        day=tomorrow(),
        owner=admission_owner(ticket.pk),
    )
    return booking_confirm(token=hold.token, person=person(first=f"Person{n}", email=f"p{n}@example.org"))


# --- Releases -------------------------------------------------------------------------------


def test_a_release_makes_its_pairs_bookable_at_the_opening_not_before(centre):
    release = make_release(opens_in=timedelta(hours=1))
    firsts = Appointment.objects.filter(dose=1)
    assert release.pairs == firsts.count() == 60
    assert set(Appointment.objects.values_list("bookable_from", flat=True)) == {release.opens_at}
    assert free_pairs(by="centre").total() == 0  # not before the opening
    open_now(release)
    assert free_pairs(by="centre").total() == 60


def test_the_hotline_contingent_is_kept_back_evenly(centre):
    release = make_release(hotline_percent=10)
    assert release.hotline_pairs == 6
    hotline = Appointment.objects.filter(hotline_only=True)
    assert hotline.filter(dose=1).count() == 6 and hotline.filter(dose=2).count() == 6
    assert free_pairs(by="centre").total() == 54
    assert free_pairs(by="centre", channel="hotline").total() == 60
    # Spread over the release, not the first six pairs of the morning.
    order = list(
        Appointment.objects.filter(dose=1).order_by("starts_at", "id").values_list("hotline_only", flat=True)
    )
    assert [i for i, flag in enumerate(order) if flag] == [9, 19, 29, 39, 49, 59]


def test_a_fixed_hotline_count_wins_over_the_share(centre):
    assert make_release(hotline_percent=50, hotline_count=4).hotline_pairs == 4


def test_nothing_to_release_is_refused_and_writes_nothing(centre):
    make_release()
    before = list(Appointment.objects.order_by("id").values_list("bookable_from", "hotline_only"))
    with pytest.raises(ReleaseInvalid, match="keine geplanten"):
        make_release(name="Zweite")
    assert list(Appointment.objects.order_by("id").values_list("bookable_from", "hotline_only")) == before
    assert Release.objects.get(name="Zweite").pairs == 0


# --- Places ---------------------------------------------------------------------------------


def test_prequeue_places_are_drawn_at_the_opening_and_arrival_order_is_kept_after_it(centre):
    release = make_release(opens_in=timedelta(minutes=30))
    early = [join(release, f"192.0.2.{n}") for n in range(12)]
    assert all(ticket.place is None for ticket in early)
    tick()
    assert queue_state(release.pk).status == Status.PREQUEUE
    open_now(release)
    tick()
    release.refresh_from_db()
    assert release.status == Status.OPEN and release.prequeue_size == 12
    places = {t.number: t.place for t in Ticket.objects.filter(release=release)}
    assert sorted(places.values()) == list(range(1, 13))
    # What each waiting page computes without a query is what the tick calls by.
    assert all(place_of(n, 12, release.draw_seed) == place for n, place in places.items())
    late = [join(release, f"198.51.100.{n}") for n in range(3)]
    assert [t.place for t in late] == [13, 14, 15]


def test_the_draw_is_uniform():
    """Each of 5 pre-queue tickets lands on each of the 5 places about equally often."""
    draws = 5000
    counts = Counter((number, drawn_places(seed, 5)[number]) for seed in range(draws) for number in range(5))
    expected = draws / 5
    chi_square = sum((counts[(n, p)] - expected) ** 2 / expected for n in range(5) for p in range(1, 6))
    # 16 degrees of freedom for the 5x5 table with fixed margins: p = 0.001 at 39.3.
    assert chi_square < 39.3
    assert drawn_places(7, 5).tolist() != drawn_places(8, 5).tolist()


def test_joins_per_address_are_limited(centre, settings):
    settings.WAITINGROOM_JOINS_PER_MINUTE = 3
    release = make_release()
    for _ in range(3):
        join(release)
    with pytest.raises(TooManyJoins):
        join(release)
    assert join(release, "198.51.100.7").number == 4


# --- Admission ------------------------------------------------------------------------------


def test_admissions_never_exceed_the_limit_and_follow_capacity(centre):
    release = make_release(admission_limit=5)
    tickets = [join(release, f"192.0.2.{n}") for n in range(12)]
    tick()
    release.refresh_from_db()
    assert release.called_up_to == 5 and in_process(release, timezone.now()) == (5, 0)
    tick()
    release.refresh_from_db()
    assert release.called_up_to == 5  # nobody finished: nobody more
    for n, ticket in enumerate(tickets[:2]):
        book(ticket, n)
    tick()
    release.refresh_from_db()
    assert release.called_up_to == 7
    with pytest.raises(NotCalledYet):
        admission_enter(ticket_id=tickets[7].pk)
    # Admissions that lapse free their places for the next in line.
    later = timezone.now() + timedelta(minutes=21)
    tick(at=later)
    release.refresh_from_db()
    assert release.called_up_to == 12
    assert in_process(release, later)[0] == 5


def test_no_more_are_called_than_there_are_free_pairs(centre):
    release = make_release(admission_limit=100)
    for n in range(70):
        join(release, f"192.0.2.{n}")
    tick()
    release.refresh_from_db()
    assert release.called_up_to == 60  # 60 free pairs


def test_one_admission_one_booking(centre):
    release = make_release()
    ticket = join(release)
    tick()
    book(ticket, 1)
    ticket.refresh_from_db()
    assert ticket.used_at is not None and ticket.booking is not None
    hold = hold_create_next(
        centre_id=centre.id,
        vaccine_id=Appointment.objects.first().vaccine_id,
        day=tomorrow(),
        owner=admission_owner(ticket.pk),
    )
    with pytest.raises(AdmissionUsed):
        booking_confirm(token=hold.token, person=person(first="Zweite", email="z@example.org"))
    assert Ticket.objects.get(pk=ticket.pk).booking_id == ticket.booking_id
    from booking.models import Booking

    assert Booking.objects.count() == 1
    with pytest.raises(AdmissionUsed):
        admission_enter(ticket_id=ticket.pk)


def test_a_lapsed_admission_cannot_be_entered(centre):
    release = make_release()
    ticket = join(release)
    tick()
    # Twenty minutes later:
    Ticket.objects.filter(pk=ticket.pk).update(admission_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AdmissionLapsed):
        admission_enter(ticket_id=ticket.pk)


# --- Sold out -------------------------------------------------------------------------------


def test_sold_out_when_every_pair_is_booked_not_while_one_is_held(centre):
    upcoming = Release.objects.create(
        name="Nächste Woche",
        first_day=tomorrow(),
        last_day=tomorrow(),
        opens_at=timezone.now() + timedelta(days=7),
    )
    release = make_release(admission_limit=100)
    tickets = [join(release, f"192.0.2.{n}") for n in range(61)]
    tick()
    for n, ticket in enumerate(tickets[:59]):
        book(ticket, n)
    last = hold_create_next(
        centre_id=centre.id,
        vaccine_id=Appointment.objects.first().vaccine_id,
        day=tomorrow(),
        owner=admission_owner(tickets[59].pk),
    )
    tick()
    state = queue_state(release.pk)
    assert state.status == Status.OPEN and state.free == 0  # one pair is held: it may come back
    booking_confirm(token=last.token, person=person(first="Letzte", email="l@example.org"))
    tick()
    state = queue_state(release.pk)
    assert state.status == Status.SOLD_OUT
    assert state.next_release == ("Nächste Woche", upcoming.opens_at)
    assert state.public()["next_release"]["name"] == "Nächste Woche"


def test_a_call_not_taken_up_in_time_lapses_and_the_next_is_called(centre):
    release = make_release(admission_limit=2)
    tickets = [join(release, f"192.0.2.{n}") for n in range(4)]
    tick()
    admission_enter(ticket_id=tickets[0].pk)  # the first comes in; the second does not
    six_minutes_ago = timezone.now() - timedelta(minutes=6)
    Ticket.objects.filter(pk__in=[tickets[0].pk, tickets[1].pk]).update(called_at=six_minutes_ago)
    with pytest.raises(AdmissionLapsed):
        admission_enter(ticket_id=tickets[1].pk)
    assert in_process(release, timezone.now()) == (1, 0)
    tick()
    release.refresh_from_db()
    assert release.called_up_to == 3
    admission_enter(ticket_id=tickets[0].pk)  # who came in keeps the whole admission


def test_the_website_never_claims_what_it_does_not_show_as_free(centre):
    """Invariant 7 with a hotline contingent: the claims skip the hotline's pairs exactly as the
    availability does, so booking every pair shown free leaves none for the website."""
    make_release(hotline_percent=10)
    vaccine_id = Appointment.objects.first().vaccine_id
    shown = free_pairs(by="centre").total()
    held = []
    for n in range(shown):
        held.append(
            hold_create_next(centre_id=centre.id, vaccine_id=vaccine_id, day=tomorrow(), owner=f"o{n}")
        )
    assert not any(hold.first.hotline_only for hold in held)
    assert free_pairs(by="centre").total() == 0
    from booking.exceptions import NoFreePair

    with pytest.raises(NoFreePair):
        hold_create_next(centre_id=centre.id, vaccine_id=vaccine_id, day=tomorrow(), owner="one more")
    assert free_pairs(by="centre", channel="hotline").total() == 6
