"""The hotline API's releases: which are open or coming, and how much of each one's hotline
contingent an agent can still offer a caller (the hotline never queues)."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from booking.services.holds import hold_create_next
from impfportal.models import Scope
from supply.models import Vaccine
from tests.booking.conftest import plan, tomorrow
from tests.factories import CentreFactory
from tests.waitingroom.conftest import make_release, open_now
from waitingroom.models import Release
from waitingroom.services import release_close

pytestmark = pytest.mark.django_db
RELEASES = "/api/v1/releases"
PROBLEM = "application/problem+json"


@pytest.fixture
def leipzig(centre):
    leipzig = CentreFactory(code="L01", name="Impfzentrum Leipzig", lanes=2, minutes_per_vaccination=15)
    plan(leipzig, release=False)  # 60 pairs from tomorrow, not released
    return leipzig


@pytest.fixture
def chemnitz(centre):
    chemnitz = CentreFactory(code="C01", name="Impfzentrum Chemnitz", lanes=2, minutes_per_vaccination=15)
    plan(chemnitz, release=False)
    return chemnitz


def problem_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def counts(api, release: Release) -> tuple[int, int]:
    """(hotline_free, online_free) of the release, as the agent reads them."""
    body = api.get(f"{RELEASES}/{release.pk}").json()
    return body["hotline_free"], body["online_free"]


def hotline_hold(api, agent: str, centre_code="DD01") -> dict:
    """An agent holds the next free pair tomorrow, through the API (one hold per agent: a new
    one of the same agent gives the previous back)."""
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api.token}", HTTP_X_AGENT_ID=agent)
    response = api.post(
        "/api/v1/holds",
        {"centre": centre_code, "vaccine": "comirnaty", "date": tomorrow().isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- The list -------------------------------------------------------------------------------


def test_releases_are_listed_soonest_first_with_their_status_by_the_clock(hotline, centre, leipzig, chemnitz):
    later = make_release(name="Leipzig", centres=[leipzig], opens_in=timedelta(hours=3))
    opened = make_release(name="Dresden", centres=[centre], hotline_percent=10)
    soon = make_release(name="Chemnitz", centres=[chemnitz], opens_in=timedelta(minutes=30), hotline_count=4)
    # The tick has not run: all three are stored as scheduled, yet the clock has moved on.
    assert set(Release.objects.values_list("status", flat=True)) == {Release.Status.SCHEDULED}

    response = hotline.get(RELEASES)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    rows = [(r["id"], r["name"], r["status"], r["pairs"], r["hotline_pairs"]) for r in body["results"]]
    assert rows == [
        (opened.pk, "Dresden", "open", 60, 6),
        (soon.pk, "Chemnitz", "prequeue", 60, 4),
        (later.pk, "Leipzig", "scheduled", 60, 0),
    ]
    first = body["results"][0]
    assert first["centres"] == ["DD01"] and first["vaccines"] == []
    assert (first["first_day"], first["last_day"]) == (
        tomorrow().isoformat(),
        (tomorrow() + timedelta(days=60)).isoformat(),
    )
    assert first["prequeue_from"] < first["opens_at"]
    assert (first["hotline_free"], first["online_free"]) == (6, 54)


def test_a_sold_out_release_is_still_listed_and_a_closed_one_not(hotline, centre, leipzig):
    sold_out = make_release(name="Dresden", centres=[centre])
    closed = make_release(name="Leipzig", centres=[leipzig])
    Release.objects.filter(pk=sold_out.pk).update(status=Release.Status.SOLD_OUT)
    release_close(release_id=closed.pk)

    body = hotline.get(RELEASES).json()

    assert [(r["name"], r["status"]) for r in body["results"]] == [("Dresden", "sold_out")]
    # Read by its id, a closed release is still there: its pairs stay bookable without a queue.
    single = hotline.get(f"{RELEASES}/{closed.pk}").json()
    assert (single["name"], single["status"], single["online_free"]) == ("Leipzig", "closed", 60)


def test_the_list_comes_in_pages(hotline, centre, leipzig):
    make_release(name="Dresden", centres=[centre])
    make_release(name="Leipzig", centres=[leipzig], opens_in=timedelta(hours=2))
    first = hotline.get(RELEASES, {"page_size": 1}).json()
    assert first["count"] == 2 and [r["name"] for r in first["results"]] == ["Dresden"]
    second = hotline.get(first["next"]).json()
    assert [r["name"] for r in second["results"]] == ["Leipzig"] and second["next"] is None


def test_a_release_names_its_centres_and_vaccines_by_code(hotline, centre, leipzig):
    release = make_release(name="Sachsen", centres=[leipzig, centre])
    release.vaccines.set([Vaccine.objects.get(code="comirnaty")])
    response = hotline.get(f"{RELEASES}/{release.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["centres"], body["vaccines"]) == (
        release.pk,
        "Sachsen",
        ["DD01", "L01"],
        ["comirnaty"],
    )
    assert (body["pairs"], body["hotline_pairs"]) == (120, 0)


# --- The hotline contingent -----------------------------------------------------------------


def test_a_hotline_hold_takes_a_pair_of_the_contingent(hotline, centre):
    release = make_release(hotline_percent=10)
    assert counts(hotline, release) == (6, 54)

    hold = hotline_hold(hotline, "agent-1")

    assert hold["hotline_contingent"] is True
    assert counts(hotline, release) == (5, 54)  # the website's pairs are untouched
    listed = hotline.get(RELEASES).json()["results"][0]
    assert (listed["hotline_pairs"], listed["hotline_free"], listed["online_free"]) == (6, 5, 54)


def test_a_released_hotline_hold_gives_its_pair_back(hotline, centre):
    release = make_release(hotline_percent=10)
    hold = hotline_hold(hotline, "agent-1")
    assert counts(hotline, release) == (5, 54)
    assert hotline.delete(f"/api/v1/holds/{hold['token']}").status_code in (200, 204)
    assert counts(hotline, release) == (6, 54)


def test_once_the_contingent_is_held_the_hotline_takes_the_websites_pairs(hotline, centre):
    release = make_release(hotline_count=2)
    assert [hotline_hold(hotline, f"agent-{n}")["hotline_contingent"] for n in range(3)] == [
        True,
        True,
        False,
    ]
    assert counts(hotline, release) == (0, 57)


def test_a_website_hold_leaves_the_contingent_alone(hotline, centre):
    release = make_release(hotline_percent=10)
    held = hold_create_next(
        centre_id=centre.id, vaccine_id=Vaccine.objects.get(code="comirnaty").id, day=tomorrow(), owner="web"
    )
    assert held.first.hotline_only is False
    assert counts(hotline, release) == (6, 53)


def test_a_release_still_to_open_offers_its_whole_contingent(hotline, centre, leipzig):
    """Before its opening nothing of a release can have been taken: it shows all its pairs, not
    what another, open release of the same centres and days has left."""
    opened = make_release(name="Dresden", centres=[centre], hotline_percent=10)
    hotline_hold(hotline, "agent-1")
    coming = make_release(name="Alle", opens_in=timedelta(hours=3), hotline_count=3)  # all centres
    assert (coming.pairs, coming.hotline_pairs) == (60, 3)  # Leipzig's; Dresden's went to "Dresden"

    rows = {r["name"]: r for r in hotline.get(RELEASES).json()["results"]}

    assert (rows["Dresden"]["status"], rows["Dresden"]["hotline_free"], rows["Dresden"]["online_free"]) == (
        "open",
        5,
        54,
    )
    assert (rows["Alle"]["status"], rows["Alle"]["hotline_free"], rows["Alle"]["online_free"]) == (
        "scheduled",
        3,
        57,
    )
    assert counts(hotline, opened) == (5, 54)


def test_at_the_opening_the_counts_come_from_the_free_pairs(hotline, centre, leipzig):
    release = make_release(name="Leipzig", centres=[leipzig], opens_in=timedelta(minutes=30), hotline_count=3)
    body = hotline.get(f"{RELEASES}/{release.pk}").json()
    assert (body["status"], body["hotline_free"], body["online_free"]) == ("prequeue", 3, 57)
    open_now(release)
    hotline_hold(hotline, "agent-1", centre_code="L01")
    body = hotline.get(f"{RELEASES}/{release.pk}").json()
    assert (body["status"], body["hotline_free"], body["online_free"]) == ("open", 2, 57)


# --- Not found, not allowed -----------------------------------------------------------------


@pytest.mark.parametrize("release_id", ["4711", "abc", "1.0", "99999999999999999999"])
def test_an_unknown_release_is_a_problem(hotline, centre, release_id):
    make_release()
    body = problem_of(hotline.get(f"{RELEASES}/{release_id}"), 404, "release_not_found")
    assert body["detail"] == "Diese Freigabe gibt es nicht."


def test_releases_need_the_availability_scope(make_hotline, centre):
    release = make_release()
    registrations_only = make_hotline(scopes=[Scope.REGISTRATIONS])
    problem_of(registrations_only.get(RELEASES), 403, "scope_missing")
    problem_of(registrations_only.get(f"{RELEASES}/{release.pk}"), 403, "scope_missing")
    problem_of(APIClient(HTTP_X_AGENT_ID="agent-7").get(RELEASES), 401, "not_authenticated")
