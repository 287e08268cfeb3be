"""The hotline's booking endpoints, as the call-centre software uses them: search, hold, book,
look up, move, cancel; registrations. Availability through the API is what a hold through the
API accepts (DESIGN invariant 7), the hotline's contingent included."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from booking.models import Booking, Channel, Hold, Registration
from booking.selectors import free_pairs
from supply.models import Appointment
from tests.booking.conftest import plan, tomorrow
from tests.factories import CALLER, CentreFactory

pytestmark = pytest.mark.django_db

ERIKA = CALLER


def day(offset=0) -> str:
    return (tomorrow() + timedelta(days=offset)).isoformat()


def availability(api, **params):
    response = api.get("/api/v1/availability", {"centre": "DD01", "date_from": day(), **params})
    assert response.status_code == 200, response.content
    return response


def free_on(api, on: str, **params) -> int:
    rows = availability(api, date_to=on, **params).json()["results"]
    return sum(row["free_pairs"] for row in rows if row["date"] == on)


def hold(api, **fields):
    return api.post(
        "/api/v1/holds", {"centre": "DD01", "vaccine": "comirnaty", "date": day()} | fields, format="json"
    )


def book(api, token, person=None, **fields):
    return api.post("/api/v1/bookings", {"hold": token, "person": person or ERIKA} | fields, format="json")


def held_and_booked(api, person=None):
    token = hold(api).json()["token"]
    response = book(api, token, person)
    assert response.status_code == 201, response.content
    return response.json()


def keep_for_hotline(pairs: int, on: date) -> list[int]:
    """Mark the last `pairs` first doses of the day (with their second doses) as the hotline's
    contingent, as a release with a hotline share does."""
    firsts = list(
        Appointment.objects.filter(dose=1, starts_at__date=on)
        .order_by("-starts_at")[:pairs]
        .values_list("id", "second_id")
    )
    ids = [i for pair in firsts for i in pair]
    Appointment.objects.filter(id__in=ids).update(hotline_only=True)
    return [first for first, _second in firsts]


# --- Availability ---------------------------------------------------------------------------


def test_availability_counts_whole_free_pairs_per_day(centre, hotline):
    body = availability(hotline, date_to=day(13)).json()
    website = free_pairs(by="day", centre_ids=[centre.id]).counts
    assert {(row["date"], row["free_pairs"]) for row in body["results"]} == {
        (when.isoformat(), count) for (_c, _v, when), count in website.items()
    }
    assert {row["centre"] for row in body["results"]} == {"DD01"}
    assert body["computed_at"] and body["eligibility"] is None


def test_the_hotline_sees_its_contingent_and_the_website_does_not(centre, hotline):
    before = free_on(hotline, day())
    keep_for_hotline(3, tomorrow())
    assert free_on(hotline, day()) == before
    website = free_pairs(
        by="day", centre_ids=[centre.id], start=tomorrow(), end=tomorrow() + timedelta(days=1)
    )
    assert website.total() == before - 3


def test_a_hold_draws_on_the_contingent_first_then_on_the_shared_pool(centre, make_hotline):
    contingent = keep_for_hotline(2, tomorrow())
    agents = [make_hotline(agent=f"agent-{n}") for n in range(3)]
    held = [hold(api).json() for api in agents]
    assert [h["hotline_contingent"] for h in held] == [True, True, False]
    assert {h["first"]["id"] for h in held[:2]} == set(contingent)


def test_every_pair_shown_free_can_be_held_and_then_none_is_left(centre, make_hotline):
    """Invariant 7 through the API: hold every pair the search shows on a day, book them, and
    the search shows 0 while the next hold finds nothing."""
    shown = free_on(make_hotline(), day())
    assert shown > 0
    for number in range(shown):
        api = make_hotline(agent=f"agent-{number}")
        person = ERIKA | {"first_name": f"Erika{number}"}
        token = hold(api).json()["token"]
        assert book(api, token, person).status_code == 201
    last = make_hotline(agent="agent-last")
    assert free_on(last, day()) == 0
    response = hold(last)
    assert response.status_code == 409 and response.json()["code"] == "no_free_pair"
    assert Booking.objects.count() == shown


def test_a_hold_lowers_the_count_and_its_release_restores_it(centre, hotline):
    before = free_on(hotline, day())
    token = hold(hotline).json()["token"]
    assert free_on(hotline, day()) == before - 1
    assert hotline.delete(f"/api/v1/holds/{token}").status_code == 204
    assert free_on(hotline, day()) == before


def test_an_expired_hold_is_free_again_at_once(centre, hotline):
    before = free_on(hotline, day())
    token = hold(hotline).json()["token"]
    Appointment.objects.filter(claim_token=token).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert free_on(hotline, day()) == before
    response = book(hotline, token)
    assert response.status_code == 410 and response.json()["code"] == "hold_expired"


def test_the_birth_date_filters_what_that_person_may_book(centre, hotline):
    plan(centre, "astra", doses=110, days=14)  # AstraZeneca in centres: 60 and over only
    old = availability(hotline, birth_date="1950-01-01").json()
    young = availability(hotline, birth_date="1990-01-01").json()
    assert {r["vaccine"] for r in old["results"]} == {"comirnaty", "astra"}
    assert {r["vaccine"] for r in young["results"]} == {"comirnaty"}
    assert young["eligibility"] == {
        "eligible": True,
        "age": young["eligibility"]["age"],
        "group": young["eligibility"]["group"],
        "vaccines": ["comirnaty", "moderna", "johnson"],
        "reason": "",
    }
    child = availability(
        hotline, birth_date=(timezone.localdate() - timedelta(days=365 * 10)).isoformat()
    ).json()
    assert child["results"] == [] and child["eligibility"]["eligible"] is False
    assert "ab 16 Jahren" in child["eligibility"]["reason"]


def test_availability_by_time_lists_the_first_dose_times(centre, hotline):
    rows = availability(hotline, by="time", date_to=day()).json()["results"]
    assert rows and all(row["date"] == day() for row in rows)
    first = rows[0]
    response = hold(hotline, date=None, starts_at=first["starts_at"])
    assert response.status_code == 400  # date and starts_at together
    response = hotline.post(
        "/api/v1/holds",
        {"centre": "DD01", "vaccine": "comirnaty", "starts_at": first["starts_at"]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["first"]["starts_at"] == first["starts_at"]


def test_a_postcode_and_radius_keep_the_centres_near_enough(centre, hotline):
    leipzig = CentreFactory(
        code="L01", town="Leipzig", postcode="04356", latitude="51.3968", longitude="12.4030"
    )
    plan(leipzig, doses=20)
    near = availability(hotline, centre=[], postcode="01067", radius_km=30).json()["results"]
    both = availability(hotline, centre=[], postcode="04109").json()["results"]
    assert {r["centre"] for r in near} == {"DD01"}
    assert both[0]["centre"] == "L01"  # nearest first
    assert {r["centre"] for r in both} == {"DD01", "L01"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_to": "2020-01-01"}, "date_to"),
        ({"by": "time", "date_to": "2099-01-01"}, "date_to"),
        ({"centre": "XX99"}, "centre.0"),
        ({"vaccine": "sputnik"}, "vaccine.0"),
        ({"radius_km": 10}, "postcode"),
        ({"postcode": "99999"}, "postcode"),
        ({"date_from": "2021-02-30"}, "date_from"),
        ({"birth_date": "2099-01-01"}, "birth_date"),
    ],
)
def test_bad_searches_name_the_field(centre, hotline, params, field):
    response = hotline.get("/api/v1/availability", {"centre": "DD01", **params})
    assert response.status_code == 400
    assert field in {error.get("field") for error in response.json()["errors"]}


def test_availability_has_an_etag_that_changes_with_the_numbers(centre, hotline):
    etag = availability(hotline)["ETag"]
    unchanged = hotline.get(
        "/api/v1/availability", {"centre": "DD01", "date_from": day()}, HTTP_IF_NONE_MATCH=etag
    )
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == etag
    held_and_booked(hotline)
    changed = hotline.get(
        "/api/v1/availability", {"centre": "DD01", "date_from": day()}, HTTP_IF_NONE_MATCH=etag
    )
    assert changed.status_code == 200 and changed["ETag"] != etag


# --- Holds ----------------------------------------------------------------------------------


def test_a_hold_is_the_earliest_free_pair_with_its_second_dose(centre, hotline):
    response = hold(hotline)
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/api/v1/holds/{body['token']}"
    assert body["first"]["starts_at"].startswith(day())
    assert body["second"] is not None and body["second"]["starts_at"] > body["first"]["starts_at"]
    assert body["extended"] is False
    assert Hold.objects.get(token=body["token"]).owner == f"hotline:{hotline.client_row.pk}:agent-7"
    assert hotline.get(f"/api/v1/holds/{body['token']}").json() == body


def test_a_hold_can_be_extended_once(centre, hotline):
    body = hold(hotline).json()
    extended = hotline.post(f"/api/v1/holds/{body['token']}/extend")
    assert extended.status_code == 200
    assert extended.json()["extended"] is True
    assert extended.json()["expires_at"] > body["expires_at"]
    again = hotline.post(f"/api/v1/holds/{body['token']}/extend")
    assert again.status_code == 409 and again.json()["code"] == "hold_not_extendable"


def test_an_agent_holds_one_pair_at_a_time_and_colleagues_their_own(centre, make_hotline):
    api = make_hotline(agent="a")
    first = hold(api).json()["token"]
    second = hold(api).json()["token"]
    assert Hold.objects.get(token=first).released_at is not None
    assert Hold.objects.get(token=second).released_at is None
    colleague = make_hotline(agent="b")
    colleague.credentials(HTTP_AUTHORIZATION=f"Bearer {api.token}", HTTP_X_AGENT_ID="b")
    hold(colleague)
    assert Hold.objects.get(token=second).released_at is None
    # ... and may finish it (the caller was passed on), as the same client.
    assert book(colleague, second).status_code == 201


def test_another_clients_hold_does_not_exist_for_this_one(centre, make_hotline):
    token = hold(make_hotline()).json()["token"]
    stranger = make_hotline()
    for response in (
        stranger.get(f"/api/v1/holds/{token}"),
        stranger.delete(f"/api/v1/holds/{token}"),
        stranger.post(f"/api/v1/holds/{token}/extend"),
        book(stranger, token),
    ):
        assert response.status_code == 404 and response.json()["code"] == "hold_not_found"
    assert not Booking.objects.exists()


def test_a_time_in_the_past_or_without_a_free_pair_is_slot_taken(centre, hotline):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    for starts_at in (past, f"{day()}T03:00:00+01:00"):
        response = hotline.post(
            "/api/v1/holds", {"centre": "DD01", "vaccine": "comirnaty", "starts_at": starts_at}, format="json"
        )
        assert response.status_code == 409 and response.json()["code"] == "slot_taken"


def test_the_hotline_books_past_the_waiting_room(centre, hotline, client):
    """The hotline never queues: while a release is open the website is gated, the API is not."""
    from tests.waitingroom.conftest import make_release

    Appointment.objects.update(bookable_from=None)
    make_release(hotline_percent=10)
    gated = client.get("/termin/impfzentrum/")
    assert gated.status_code == 302 and "/warteraum/" in gated["Location"]
    assert hold(hotline, date_to=day(60)).status_code == 201


# --- Bookings -------------------------------------------------------------------------------


def test_booking_a_hold_with_person_data(centre, hotline):
    token = hold(hotline).json()["token"]
    response = book(hotline, token)
    assert response.status_code == 201
    body = response.json()
    booking = Booking.objects.get(code=body["code"])
    assert (booking.channel, booking.agent) == (Channel.HOTLINE, "agent-7")
    assert body["status"] == "active" and body["channel"] == "hotline"
    assert body["person"] == {"first_name": "Erika", "last_name": "Mustermann", "birth_date": "1938-05-17"}
    assert body["first"]["id"] == booking.first_id and body["second"]["id"] == booking.second_id
    assert response["Location"] == f"/api/v1/bookings/{body['code']}"
    # Booking the same hold again (a retry without a key) is the same booking.
    assert book(hotline, token).json()["code"] == body["code"]
    assert Booking.objects.count() == 1


def test_booking_with_a_registration_code(centre, hotline):
    registration = hotline.post("/api/v1/registrations", {"person": ERIKA}, format="json").json()
    token = hold(hotline).json()["token"]
    wrong = hotline.post(
        "/api/v1/bookings",
        {"hold": token, "registration_code": registration["code"], "birth_date": "1938-05-18"},
        format="json",
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "registration_not_found"
    right = hotline.post(
        "/api/v1/bookings",
        {"hold": token, "registration_code": registration["code"], "birth_date": "1938-05-17"},
        format="json",
    )
    assert right.status_code == 201
    booking = Booking.objects.get(code=right.json()["code"])
    assert booking.person == Registration.objects.get(code=registration["code"]).person


def test_a_person_too_young_for_any_vaccine_is_not_eligible(centre, hotline):
    token = hold(hotline).json()["token"]
    child = ERIKA | {"birth_date": (timezone.localdate() - timedelta(days=365 * 10)).isoformat()}
    response = book(hotline, token, child)
    assert response.status_code == 422 and response.json()["code"] == "not_eligible"
    assert not Booking.objects.exists()
    assert Hold.objects.get(token=token).booking is None  # the hold stays for another try


def test_a_second_booking_of_the_same_person_is_told_the_masked_code(centre, make_hotline):
    first = held_and_booked(make_hotline(agent="a"))
    api = make_hotline(agent="b")
    token = hold(api).json()["token"]
    response = book(api, token, ERIKA | {"first_name": " ERIKA ", "last_name": "mustermann"})
    body = response.json()
    assert response.status_code == 409 and body["code"] == "already_booked"
    assert first["code"][-3:] in body["detail"] and first["code"] not in body["detail"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"person": None}, "person"),
        ({"registration_code": "ABC"}, "person"),
        ({"hold": "not-a-uuid"}, "hold"),
        ({"person": ERIKA | {"phone": "", "email": ""}}, "person.phone"),
        ({"person": ERIKA | {"postcode": "0106"}}, "person.postcode"),
        ({"person": ERIKA | {"phone": "call me"}}, "person.phone"),
        ({"declared_group": 42}, "declared_group"),
    ],
)
def test_bad_bookings_name_the_field_and_write_nothing(centre, hotline, fields, field):
    token = hold(hotline).json()["token"]
    body = {"hold": token, "person": ERIKA} | fields
    body = {key: value for key, value in body.items() if value is not None}
    response = hotline.post("/api/v1/bookings", body, format="json")
    assert response.status_code == 400, response.content
    assert field in {error.get("field") for error in response.json()["errors"]}
    assert not Booking.objects.exists()


def test_read_a_booking_by_code_and_birth_date(centre, hotline):
    booked = held_and_booked(hotline)
    code = booked["code"]
    assert hotline.get(f"/api/v1/bookings/{code}", {"birth_date": "1938-05-17"}).json() == booked
    for wrong in (
        hotline.get(f"/api/v1/bookings/{code}", {"birth_date": "1938-05-18"}),
        hotline.get("/api/v1/bookings/NOSUCHCODE", {"birth_date": "1938-05-17"}),
    ):
        assert wrong.status_code == 404 and wrong.json()["code"] == "booking_not_found"
    missing = hotline.get(f"/api/v1/bookings/{code}")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "birth_date"


def test_cancel_frees_both_appointments(centre, hotline):
    booked = held_and_booked(hotline)
    before = free_on(hotline, booked["first"]["starts_at"][:10])
    response = hotline.delete(f"/api/v1/bookings/{booked['code']}?birth_date=1938-05-17")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancelled_at"]
    assert free_on(hotline, booked["first"]["starts_at"][:10]) == before + 1
    again = hotline.delete(f"/api/v1/bookings/{booked['code']}?birth_date=1938-05-17")
    assert again.status_code == 409 and again.json()["code"] == "booking_cancelled"


def test_move_the_second_dose_to_an_offered_time(centre, hotline):
    booked = held_and_booked(hotline)
    url = f"/api/v1/bookings/{booked['code']}"
    options = hotline.get(f"{url}/second-dose-options", {"birth_date": "1938-05-17"}).json()
    target = next(o["starts_at"] for o in options if o["starts_at"] != booked["second"]["starts_at"])
    response = hotline.patch(url, {"birth_date": "1938-05-17", "second_starts_at": target}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["second"]["starts_at"] == target
    assert response.json()["first"] == booked["first"]
    refused = hotline.patch(
        url, {"birth_date": "1938-05-17", "second_starts_at": booked["first"]["starts_at"]}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["code"] == "move_not_possible"


# --- Registrations --------------------------------------------------------------------------


def test_register_a_caller_and_find_them_again(db, hotline):
    created = hotline.post("/api/v1/registrations", {"person": ERIKA, "declared_group": 2}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["priority_group"] == 2 and body["channel"] == "hotline"
    assert Registration.objects.get(code=body["code"]).agent == "agent-7"
    by_code = hotline.get(f"/api/v1/registrations/{body['code']}", {"birth_date": "1938-05-17"})
    assert by_code.json() == body
    found = hotline.get(
        "/api/v1/registrations",
        {"first_name": "erika ", "last_name": "MUSTERMANN", "birth_date": "1938-05-17"},
    ).json()
    assert found["count"] == 1 and found["results"] == [body]
    nobody = hotline.get(
        "/api/v1/registrations",
        {"first_name": "Erika", "last_name": "Mustermann", "birth_date": "1938-05-18"},
    ).json()
    assert nobody["count"] == 0
