from datetime import date, time

import pytest

from centres.selectors import day_capacities, day_capacity
from tests.factories import CentreFactory, ClosureFactory

MONDAY = date(2021, 4, 19)
SATURDAY = date(2021, 4, 24)


@pytest.mark.django_db
def test_weekday_capacity_is_lanes_times_open_minutes_over_minutes_per_vaccination():
    centre = CentreFactory(lanes=4, minutes_per_vaccination=5)  # Mon-Fri 8-18
    capacity = day_capacity(centre=centre, day=MONDAY)
    assert capacity.per_step == 4
    assert len(capacity.starts) == 600 // 5
    assert capacity.starts[0] == time(8, 0)
    assert capacity.starts[-1] == time(17, 55)
    assert capacity.total == 4 * 600 // 5


@pytest.mark.django_db
def test_weekend_uses_weekend_hours():
    centre = CentreFactory(lanes=3, minutes_per_vaccination=4)  # Sat-Sun 9-17
    capacity = day_capacity(centre=centre, day=SATURDAY)
    assert capacity.starts[0] == time(9, 0)
    assert capacity.total == 3 * 480 // 4


@pytest.mark.django_db
def test_a_step_must_end_by_closing_time():
    centre = CentreFactory(lanes=2, minutes_per_vaccination=7, hours={0: [(time(8), time(9))]})
    capacity = day_capacity(centre=centre, day=MONDAY)
    assert capacity.starts[-1] == time(8, 49)  # 08:49 + 7 min ends at 08:56; 08:56 would end after 09:00
    assert capacity.total == 2 * 8


@pytest.mark.django_db
def test_several_intervals_a_day_add_up():
    centre = CentreFactory(
        lanes=2, minutes_per_vaccination=10, hours={0: [(time(13), time(17)), (time(8), time(12))]}
    )
    capacity = day_capacity(centre=centre, day=MONDAY)
    assert (
        capacity.starts[:1] == [time(8)] and time(12) not in capacity.starts and time(13) in capacity.starts
    )
    assert capacity.total == 2 * (24 + 24)


@pytest.mark.django_db
def test_closure_gives_zero_and_its_reason():
    centre = CentreFactory()
    ClosureFactory(centre=centre, date=MONDAY, reason="Ostermontag")
    capacity = day_capacity(centre=centre, day=MONDAY)
    assert capacity.total == 0
    assert capacity.starts == []
    assert not capacity.is_open
    assert capacity.closure_reason == "Ostermontag"


@pytest.mark.django_db
def test_day_without_opening_hours_and_inactive_centre_give_zero():
    closed_sundays = CentreFactory(hours={0: [(time(8), time(18))]})
    assert day_capacity(centre=closed_sundays, day=date(2021, 4, 25)).total == 0
    inactive = CentreFactory(active=False)
    assert day_capacity(centre=inactive, day=MONDAY).total == 0


@pytest.mark.django_db
def test_range_query_covers_every_centre_and_day_in_few_queries(django_assert_max_num_queries):
    centres = CentreFactory.create_batch(3)
    ClosureFactory(centre=centres[1], date=MONDAY)
    with django_assert_max_num_queries(2):
        capacities = day_capacities(centres=centres, start=MONDAY, end=date(2021, 4, 25))
    assert len(capacities) == 3 * 7
    assert capacities[centres[1].id, MONDAY].total == 0
    assert capacities[centres[0].id, MONDAY].total == 4 * 120
