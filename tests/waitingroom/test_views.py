"""The waiting room on the website: places that survive reloads, a gate that cannot be walked
around (DESIGN invariants 8 and 9), and polls that cost the database nothing."""

import json
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from booking.models import Booking
from tests.booking.conftest import tomorrow
from tests.booking.test_views import check_in, enter_details, offered_times, text, times_url
from tests.waitingroom.conftest import make_release, open_now, tick
from waitingroom import selectors
from waitingroom.models import Release, Ticket
from waitingroom.tokens import ADMISSION_COOKIE, TICKET_COOKIE, admission_sign

pytestmark = pytest.mark.django_db
ROOM = "/warteraum/"
GATED = [
    "/termin/impfzentrum/",
    "/termin/impfzentrum/DD01/",
    "/termin/reservierung/",
    "/termin/angaben/",
    "/termin/pruefen/",
]


@pytest.fixture(autouse=True)
def german():
    translation.activate("de")
    yield
    translation.activate("de")


def joined(client) -> Ticket:
    response = client.post(reverse("waitingroom:join"))
    assert response.status_code == 302 and response.url == ROOM
    return Ticket.objects.order_by("-pk").first()


def admitted(client):
    """Join, be called by the tick, enter: the client holds an admission cookie."""
    ticket = joined(client)
    tick()
    assert "Sie sind an der Reihe" in text(client.get(ROOM))
    response = client.post(reverse("waitingroom:enter"))
    assert response.status_code == 302 and response.url == reverse("booking:centres")
    return ticket


def book(client, first_name="Erika"):
    assert check_in(client).status_code == 302
    day = tomorrow()
    page = client.get(times_url_for(day))
    response = client.post(times_url_for(day), {"time": offered_times(page)[0]})
    assert response.status_code == 302, text(response)
    assert enter_details(client, first_name=first_name, email=f"{first_name}@example.org").status_code == 302
    return client.post(reverse("booking:summary"))


def times_url_for(day):
    class _Centre:
        code = "DD01"

    return times_url(_Centre, day)


# --- The gate (invariant 9) -----------------------------------------------------------------


def test_without_a_release_booking_needs_no_admission(client, centre):
    from tests.booking.conftest import release_planned

    release_planned()
    # A release still to come (its pre-queue not started) does not stand in front of booking.
    Release.objects.create(
        name="Später", first_day=tomorrow(), last_day=tomorrow(), opens_at=timezone.now() + timedelta(days=3)
    )
    check_in(client)
    assert client.get("/termin/impfzentrum/").status_code == 200


@pytest.mark.parametrize("path", GATED)
def test_while_a_release_is_open_the_booking_pages_send_everyone_to_the_waiting_room(client, centre, path):
    make_release()
    check_in(client)
    response = client.get(path)
    assert response.status_code == 302 and response.url == ROOM


def test_the_eligibility_check_comes_before_the_queue(client, centre):
    make_release()
    response = check_in(client)
    assert response.status_code == 302  # checked, then sent on
    assert client.get(response.url).url == ROOM


@pytest.mark.parametrize(
    "forged",
    [
        "nonsense",
        "a" * 80,
        # someone else's signing key
        signing.dumps({"r": 1, "t": 1, "u": 4102444800}, key="not-our-secret", salt="waitingroom.admission"),
        # the right key, but the ticket's salt: a ticket renamed into an admission
        signing.dumps({"r": 1, "t": 1, "u": 4102444800}, salt="waitingroom.ticket"),
    ],
)
def test_forged_or_renamed_admissions_are_refused(client, centre, forged):
    make_release()
    check_in(client)
    client.cookies[ADMISSION_COOKIE] = forged
    assert client.get("/termin/impfzentrum/").url == ROOM


def test_a_ticket_cookie_renamed_to_the_admission_cookie_is_refused(client, centre):
    make_release(opens_in=timedelta(minutes=30))
    joined(client)
    check_in(client)
    client.cookies[ADMISSION_COOKIE] = client.cookies[TICKET_COOKIE].value
    assert client.get("/termin/impfzentrum/").url == ROOM


def test_an_expired_admission_is_refused(client, centre):
    release = make_release()
    check_in(client)
    client.cookies[ADMISSION_COOKIE] = admission_sign(
        release_id=release.pk, ticket_id=1, until=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/termin/impfzentrum/").url == ROOM


def test_not_called_cannot_enter(client, centre):
    make_release(admission_limit=1)
    joined(Client())
    joined(client)
    tick()
    response = client.post(reverse("waitingroom:enter"))
    assert response.status_code == 302 and response.url == ROOM
    assert ADMISSION_COOKIE not in response.cookies
    assert "noch nicht an der Reihe" in text(client.get(ROOM))


def test_one_admission_books_once_even_copied_to_another_browser(client, centre):
    make_release()
    ticket = admitted(client)
    copy = Client()
    copy.cookies[ADMISSION_COOKIE] = client.cookies[ADMISSION_COOKIE].value
    assert book(client).url == reverse("booking:confirmation")
    assert "Ihre Termine sind gebucht" in text(client.get(reverse("booking:confirmation")))
    response = book(copy, first_name="Max")
    assert response.status_code == 409
    assert "bereits ein Termin gebucht" in text(response)
    assert Booking.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.used_at is not None
    assert client.post(reverse("waitingroom:enter")).status_code == 409


def test_a_lapsed_admission_may_queue_again_at_the_end(client, centre):
    release = make_release()
    ticket = joined(client)
    tick()
    Ticket.objects.filter(pk=ticket.pk).update(admission_until=timezone.now() - timedelta(seconds=1))
    response = client.post(reverse("waitingroom:enter"))
    assert response.status_code == 410 and "erneut am Ende" in text(response)
    assert "Erneut anstellen" in text(response)
    again = joined(client)
    assert again.number == release.tickets.count() and again.pk != ticket.pk


# --- Places (invariant 8) -------------------------------------------------------------------


def test_reload_and_browser_restart_keep_the_place(client, centre):
    release = make_release(opens_in=timedelta(minutes=30), admission_limit=1)
    for _ in range(4):
        joined(Client())
    ticket = joined(client)
    assert "Ihr Platz wird bei der Öffnung verlost" in text(client.get(ROOM))
    open_now(release)
    tick()
    place = Ticket.objects.get(pk=ticket.pk).place
    shown = "Sie sind an der Reihe" if place == 1 else f"Ihr Platz: <strong>{place}</strong>"
    assert shown in text(client.get(ROOM))
    assert shown in text(client.get(ROOM))  # reload
    restarted = Client()  # a new browser session with the stored (persistent) cookie only
    restarted.cookies[TICKET_COOKIE] = client.cookies[TICKET_COOKIE].value
    assert shown in text(restarted.get(ROOM))


def test_the_place_comes_back_from_the_code_on_another_device(client, centre):
    make_release(admission_limit=1)
    joined(Client())
    ticket = joined(client)
    tick()
    ticket.refresh_from_db()
    code = f"{ticket.code[:4]}-{ticket.code[4:]}"
    assert code in text(client.get(ROOM))
    other = Client()
    response = other.post(reverse("waitingroom:restore"), {"code": code.lower()})
    assert response.status_code == 302
    assert f"Ihr Platz: <strong>{ticket.place}</strong>" in text(other.get(ROOM))


@pytest.mark.parametrize(
    "code, message",
    [("", "Bitte geben Sie Ihre Wartenummer ein"), ("ACD", "8 Zeichen"), ("ACDE-FHJK", "kennen wir nicht")],
)
def test_a_wrong_code_is_explained(client, centre, code, message):
    make_release()
    response = client.post(reverse("waitingroom:restore"), {"code": code})
    assert response.status_code == 400 and message in text(response)


def test_the_waiting_page_shows_place_people_ahead_wait_and_free_pairs(client, centre):
    make_release(admission_limit=2)
    for _ in range(4):
        joined(Client())
    joined(client)
    tick()
    page = text(client.get(ROOM))
    assert "Ihr Platz: <strong>5</strong>" in page
    assert "Vor Ihnen warten noch 2 Personen." in page
    assert "noch 60 Terminpaare frei" in page
    assert '<meta http-equiv="refresh" content="10">' in page  # without JavaScript
    assert "Automatisches Neuladen ausschalten" in page
    quiet = text(client.get(ROOM, {"aktualisieren": "aus"}))  # WCAG 2.2.1: it can be turned off
    assert "http-equiv" not in quiet and "Stand jetzt abrufen" in quiet
    assert "Ihr Platz: <strong>5</strong>" in quiet


def test_sold_out_reaches_the_waiting_with_the_next_release(client, centre):
    release = make_release(admission_limit=100)
    Release.objects.create(
        name="Freigabe Juni",
        first_day=tomorrow(),
        last_day=tomorrow(),
        opens_at=timezone.now() + timedelta(days=7),
    )
    joined(client)
    tick()
    from supply.models import Appointment

    Appointment.objects.update(booked=True)
    tick()
    assert Release.objects.get(pk=release.pk).status == Release.Status.SOLD_OUT
    page = text(client.get(ROOM))
    assert "<h1>Alle Termine sind vergeben</h1>" in page and "Freigabe Juni" in page
    assert "<title>Alle Termine sind vergeben" in page and "Ihr Platz" not in page
    assert "http-equiv" not in page


# --- Polling costs nothing ------------------------------------------------------------------


def test_polls_read_no_database(client, centre, settings, django_assert_num_queries):
    settings.WAITINGROOM_STATE_SECONDS = 60
    release = make_release(admission_limit=1)
    joined(Client())
    joined(client)
    tick()
    client.get(ROOM)  # the process's copy of the states is fresh now
    with django_assert_num_queries(0):
        page = client.get(ROOM)
        state = client.get(f"/warteraum/{release.pk}/stand.json")
    assert "Ihr Platz" in text(page)
    assert state["Cache-Control"] == "public, max-age=60"
    assert json.loads(state.content)["status"] == "open"


def test_the_shared_state_keeps_the_draw_secret(client, centre):
    release = make_release()
    tick()
    body = json.loads(client.get(f"/warteraum/{release.pk}/stand.json").content)
    assert body["release"] == release.pk and body["free"] == 60 and body["poll_seconds"] == 10
    assert "draw_seed" not in json.dumps(body) and str(
        Release.objects.get(pk=release.pk).draw_seed
    ) not in json.dumps(body)
    assert client.get("/warteraum/999999/stand.json").status_code == 404


def test_a_state_change_reaches_every_process_within_the_refresh_interval(
    client, centre, settings, monkeypatch
):
    """The stated time: a sold-out is visible to a poll at most WAITINGROOM_STATE_SECONDS after the tick."""
    settings.WAITINGROOM_STATE_SECONDS = 2
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    release = make_release()
    tick()
    url = f"/warteraum/{release.pk}/stand.json"
    assert json.loads(client.get(url).content)["status"] == "open"
    Release.objects.filter(pk=release.pk).update(status=Release.Status.SOLD_OUT)
    clock[0] += 1.9
    assert json.loads(client.get(url).content)["status"] == "open"  # the copy may be this old
    clock[0] += 0.2
    assert json.loads(client.get(url).content)["status"] == "sold_out"


def test_the_landing_page_tells_of_the_release(client, centre):
    release = make_release(opens_in=timedelta(minutes=30))
    assert "öffnet um" in text(client.get("/")) and "schon im Warteraum anstellen" in text(client.get("/"))
    open_now(release)
    assert "Zum Buchen stellen Sie sich im Warteraum an" in text(client.get("/"))
    Release.objects.filter(pk=release.pk).update(status=Release.Status.CLOSED, closed_at=timezone.now())
    assert "Warteraum" not in text(client.get("/")).split("<main")[1].split("</main>")[0]
