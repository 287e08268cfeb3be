"""Splitting state-level deliveries across centres: weights, whole vials, returns."""

from datetime import date

import pytest

from supply.distribution import (
    REFERENCE_DAY,
    ReturnShortfall,
    capacity_weights,
    distribute,
    distribution_weights,
    split_doses,
)
from supply.models import DistributionKey


def test_split_in_whole_vials_by_largest_remainder():
    # 100 vials of 6 by 1:1:1 -> 33.33 each; the spare vial goes to the first code in a tie.
    assert split_doses(600, {"BB01": 1, "AA01": 1, "CC01": 1}, 6) == {"AA01": 204, "BB01": 198, "CC01": 198}


def test_split_gives_the_part_filled_vial_to_the_next_in_line():
    # 62 doses = 6 vials of 10 + 2; quotas 62*5/10/10 = 3.1, 62*3/10/10 = 1.86, 62*2/10/10 = 1.24
    # whole vials 3, 1, 1 (5); the 6th vial goes to B (.86), the 2 doses to C (.24, next in line).
    assert split_doses(62, {"A": 5, "B": 3, "C": 2}, 10) == {"A": 30, "B": 20, "C": 12}


def test_split_sums_up_and_leaves_zero_weights_out():
    weights = {"AA01": 2400, "BB01": 1200, "CC01": 0, "DD01": 360, "EE01": 450}
    for total in (0, 1, 5, 59, 9750, 24375, 34125, 151_200, 52_651):
        split = split_doses(total, weights, 6)
        assert sum(split.values()) == total
        assert split["CC01"] == 0
        off_vial = [code for code, doses in split.items() if doses % 6]
        assert len(off_vial) <= 1
        for code, weight in weights.items():
            assert abs(split[code] - total * weight / 4410) < 2 * 6


def test_split_is_deterministic_whatever_the_order_of_the_weights():
    weights = {"ZW01": 3, "BG01": 3, "DD01": 3, "LZ01": 3}
    reordered = dict(reversed(list(weights.items())))
    assert split_doses(70, weights, 10) == split_doses(70, reordered, 10)
    assert split_doses(70, weights, 10) == {"BG01": 20, "DD01": 20, "LZ01": 20, "ZW01": 10}


@pytest.mark.parametrize(
    ("total", "weights", "per_vial"),
    [(-1, {"A": 1}, 6), (6, {"A": 0}, 6), (6, {}, 6), (6, {"A": -1, "B": 2}, 6), (6, {"A": 1}, 0)],
)
def test_split_refuses_impossible_input(total, weights, per_vial):
    with pytest.raises(ValueError):
        split_doses(total, weights, per_vial)


def test_returns_are_taken_by_the_same_key_but_never_below_zero():
    totals = {
        (date(2021, 2, 6), "astra"): 1000,
        (date(2021, 8, 20), "astra"): -1500,
    }
    result = distribute(
        totals=totals,
        weights={"AA01": 1, "BB01": 1},
        doses_per_vial={"astra": 10},
        opening={("BB01", "astra"): 400},
    )
    assert result.doses == {
        ("AA01", "astra", date(2021, 2, 6)): 500,
        ("BB01", "astra", date(2021, 2, 6)): 500,
        ("AA01", "astra", date(2021, 8, 20)): -500,  # wanted 750, had 500
        ("BB01", "astra", date(2021, 8, 20)): -750,  # had 400 before the file + 500
    }
    assert result.shortfalls == [ReturnShortfall(date(2021, 8, 20), "astra", "AA01", wanted=750, taken=500)]
    assert result.shortfalls[0].missing == 250


def test_a_zero_day_gives_no_rows():
    result = distribute(
        totals={(date(2021, 4, 17), "moderna"): 0}, weights={"A": 1}, doses_per_vial={"moderna": 10}
    )
    assert result.doses == {}


@pytest.mark.django_db
def test_weights_default_to_weekday_capacity(centres):
    assert REFERENCE_DAY.weekday() == 0
    weights = capacity_weights()
    assert distribution_weights() == weights
    by_code = {code: weights[centre.id] for code, centre in centres.items()}
    # centres/data/README.md: the weekday capacity of each centre, 10,080 for Saxony
    assert by_code["CN01"] == 2400
    assert by_code["DD01"] == by_code["LZ01"] == 1200
    assert by_code["PN01"] == 360
    assert sum(by_code.values()) == 10_080


@pytest.mark.django_db
def test_distribution_key_wins_over_capacity_and_skips_inactive_centres(centres):
    DistributionKey.objects.create(centre=centres["DD01"], weight=3)
    DistributionKey.objects.create(centre=centres["LZ01"], weight=1)
    DistributionKey.objects.create(centre=centres["RI01"], weight=5)
    centres["RI01"].active = False
    centres["RI01"].save(update_fields=["active"])
    weights = distribution_weights()
    assert centres["RI01"].id not in weights
    assert len(weights) == 12
    assert weights[centres["DD01"].id] == 3
    assert weights[centres["LZ01"].id] == 1
    assert sum(weights.values()) == 4
