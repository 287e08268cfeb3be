"""Booking and the planner side by side (DESIGN invariant 4): what is released is kept."""

from datetime import timedelta

import pytest
from django.db.models import Q

from booking.models import Hold
from booking.services.bookings import booking_cancel, booking_confirm
from booking.services.holds import hold_create_next, hold_release
from supply.models import Appointment, Delivery, PlanRun
from supply.services.planning import plan_run_execute
from tests.booking.conftest import person, tomorrow

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_cut_withdraws_planned_pairs_but_keeps_released_ones(centre, comirnaty):
    """Holds and bookings refer to their appointments: a re-plan must not delete them, even after
    the hold ended or the booking was cancelled. Booking only touches released appointments, and
    the planner keeps every released one."""
    later = list(Appointment.objects.filter(dose=1).order_by("starts_at").values_list("id", flat=True)[10:])
    Appointment.objects.filter(Q(pk__in=later) | Q(first__in=later)).update(bookable_from=None)  # 10 stay
    kept = set(Appointment.objects.filter(bookable_from__isnull=False).values_list("id", flat=True))
    released = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    hold_release(token=released.token)
    held = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="b")
    booking = booking_confirm(token=held.token, person=person())
    booking_cancel(code=booking.code, birth_date=person().birth_date)
    touched = {released.first_id, released.second_id, held.first_id, held.second_id}

    Delivery.objects.filter(centre=centre).update(doses=0)
    run = plan_run_execute(
        run_id=PlanRun.objects.create(reason="cut").pk,
        plan_from=tomorrow(),
        plan_to=tomorrow() + timedelta(days=13),
    )

    assert run.state == PlanRun.State.DONE and run.withdrawn > 0
    assert touched <= kept
    assert set(Appointment.objects.values_list("id", flat=True)) == kept
    assert Hold.objects.count() == 2
