"""The public booking pages with the Django test client, i.e. without JavaScript: the whole flow
from the eligibility check to the e-mail, managing the booking, and every kind of bad input."""

import re
import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from booking.codes import format_code
from booking.models import Booking, Hold, PriorityGroup, Registration
from booking.selectors import free_pairs
from booking.services.holds import hold_create_next
from booking.services.registrations import registration_create
from supply.models import Appointment
from tests.booking.conftest import person, plan, tomorrow

BORN = "17.05.1938"


@pytest.fixture(autouse=True)
def german():
    """A request to /en/ leaves English active in this thread; reverse() here means German URLs."""
    translation.activate("de")
    yield
    translation.activate("de")


def first_weekday_after_tomorrow() -> date:
    day = tomorrow()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def check_in(client, born=BORN, group="", postcode="01067"):
    return client.post(reverse("booking:start"), {"birth_date": born, "group": group, "postcode": postcode})


def times_url(centre, day, vaccine_code="comirnaty"):
    return reverse("booking:times", args=[centre.code, day.isoformat(), vaccine_code])


def offered_times(response) -> list[str]:
    return re.findall(r'name="time" value="([^"]+)"', response.content.decode())


def hold_pair(client, centre, day=None):
    """Steps 1 to 4: eligible, centre, day; holds the first free time of `day`."""
    day = day or first_weekday_after_tomorrow()
    assert check_in(client).status_code == 302
    page = client.get(times_url(centre, day))
    response = client.post(times_url(centre, day), {"time": offered_times(page)[0]})
    assert response.status_code == 302 and response.url == reverse("booking:hold")
    return Hold.objects.get(token=client.session["booking"]["token"])


def enter_details(client, **overrides):
    data = {
        "form": "person",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": "erika@example.org",
        "phone": "",
        "postcode": "01067",
    } | overrides
    return client.post(reverse("booking:details"), data)


def text(response) -> str:
    return response.content.decode()


# --- The whole flow ---------------------------------------------------------------------------


def test_whole_flow_without_javascript_from_eligibility_to_cancel(
    client, centre, comirnaty, mailoutbox, django_capture_on_commit_callbacks
):
    landing = client.get("/")
    assert reverse("booking:start") in text(landing) and reverse("booking:manage") in text(landing)

    start = client.get(reverse("booking:start"))
    assert start.status_code == 200
    assert 'autocomplete="bday"' in text(start) and 'autocomplete="postal-code"' in text(start)
    response = check_in(client)
    assert response.status_code == 302 and response.url == reverse("booking:centres")

    centres = client.get(reverse("booking:centres"))
    total = free_pairs(by="centre", vaccine_ids=[comirnaty.id]).total()
    assert "Impfzentrum Dresden" in text(centres)
    assert f"{total} Termine frei" in text(centres)

    days = client.get(reverse("booking:centre", args=[centre.code]))
    day = first_weekday_after_tomorrow()
    assert times_url(centre, day) in text(days)
    assert "Sie brauchen zwei Impfungen" in text(days) and "21 bis 42 Tage" in text(days)

    times = client.get(times_url(centre, day))
    first_time = offered_times(times)[0]
    response = client.post(times_url(centre, day), {"time": first_time})
    assert response.url == reverse("booking:hold")
    hold = Hold.objects.get()
    assert hold.owner == client.session.session_key
    assert timezone.localtime(hold.first.starts_at).strftime("%Y-%m-%dT%H:%M") == first_time

    page = client.get(reverse("booking:hold"))
    until = timezone.localtime(hold.expires_at).strftime("%H:%M")
    assert f"Diese Termine sind bis {until} Uhr für Sie reserviert." in text(page)
    assert f'action="{reverse("booking:hold_extend")}"' in text(page)
    assert "Passt Ihnen der zweite Termin nicht?" in text(page)

    details = client.get(reverse("booking:details"))
    for autocomplete in ("given-name", "family-name", "email", "tel", "postal-code"):
        assert f'autocomplete="{autocomplete}"' in text(details)
    assert 'value="01067"' in text(details)  # postcode prefilled from step 1
    assert enter_details(client).url == reverse("booking:summary")

    summary = client.get(reverse("booking:summary"))
    assert "Erika Mustermann" in text(summary) and "17.05.1938" in text(summary)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("booking:summary"), {"token": str(hold.token)})
    assert confirmed.url == reverse("booking:confirmation")
    # A second submit of the same form (double click, reload): the same booking, no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("booking:summary"), {"token": str(hold.token)})
    assert again.url == reverse("booking:confirmation")
    booking = Booking.objects.get()
    assert booking.language == "de"

    confirmation = client.get(reverse("booking:confirmation"))
    assert format_code(booking.code) in text(confirmation)
    assert "erika@example.org" in text(confirmation) and "impftermine.ics" in text(confirmation)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].attachments[0][0] == "impftermine.ics"
    assert "BEGIN:VCALENDAR" in mailoutbox[0].attachments[0][1]

    # Termin verwalten: look up, move the second dose, cancel.
    response = client.post(
        reverse("booking:manage"), {"code": format_code(booking.code).lower(), "birth_date": BORN}
    )
    assert response.url == reverse("booking:manage_booking")
    overview = client.get(reverse("booking:manage_booking"))
    assert format_code(booking.code) in text(overview)
    other_day = re.findall(r'href="\?zweittermin=([0-9-]+)#zweittermin"', text(overview))[-1]
    with_times = client.get(reverse("booking:manage_booking"), {"zweittermin": other_day})
    new_time = offered_times(with_times)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(reverse("booking:manage_move"), {"time": new_time})
    assert moved.url == reverse("booking:manage_booking")
    booking.refresh_from_db()
    assert timezone.localtime(booking.second.starts_at).strftime("%Y-%m-%dT%H:%M") == new_time
    assert len(mailoutbox) == 2
    assert "Ihr zweiter Termin ist geändert" in text(client.get(reverse("booking:manage_booking")))

    ask = client.get(reverse("booking:manage_cancel"))
    assert "Buchung wirklich stornieren?" in text(ask)
    assert Booking.objects.get().status == Booking.Status.ACTIVE  # asking changes nothing
    client.post(reverse("booking:manage_cancel"))
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert "Diese Buchung ist storniert." in text(client.get(reverse("booking:manage_booking")))
    assert free_pairs(by="centre", vaccine_ids=[comirnaty.id]).total() == total


def test_change_second_dose_while_held(client, centre):
    hold = hold_pair(client, centre)
    page = client.get(reverse("booking:hold"))
    other_day = re.findall(r'href="\?zweittermin=([0-9-]+)#zweittermin"', text(page))[0]
    with_times = client.get(reverse("booking:hold"), {"zweittermin": other_day})
    new_time = offered_times(with_times)[0]
    response = client.post(reverse("booking:hold_second"), {"time": new_time, "token": str(hold.token)})
    assert response.url == reverse("booking:hold")
    hold.refresh_from_db()
    assert timezone.localtime(hold.second.starts_at).strftime("%Y-%m-%dT%H:%M") == new_time
    assert hold.second.claim_token == hold.token


def test_extend_once_without_javascript(client, centre):
    hold = hold_pair(client, centre)
    response = client.post(reverse("booking:hold_extend"), {"token": str(hold.token), "back": "details"})
    assert response.url == reverse("booking:details")
    hold.refresh_from_db()
    assert hold.extended
    page = client.get(reverse("booking:hold"))
    assert "Sie haben jetzt wieder die volle Zeit." in text(page)
    assert f'action="{reverse("booking:hold_extend")}"' not in text(page)
    client.post(reverse("booking:hold_extend"), {"token": str(hold.token)})
    assert "nur einmal verlängert" in text(client.get(reverse("booking:hold")))


def test_release_frees_the_pair(client, centre, comirnaty):
    before = free_pairs(by="centre").total()
    hold = hold_pair(client, centre)
    assert free_pairs(by="centre").total() == before - 1
    response = client.post(reverse("booking:hold_release"), {"token": str(hold.token)})
    assert response.url == reverse("booking:centres")
    assert free_pairs(by="centre").total() == before


def test_book_with_a_registration_code(client, centre, django_capture_on_commit_callbacks, mailoutbox):
    registration = registration_create(person=person(), channel="hotline")
    hold = hold_pair(client, centre)
    response = client.post(
        reverse("booking:details"), {"form": "registration", "registration_code": registration.code}
    )
    assert response.url == reverse("booking:summary")
    assert "Erika Mustermann" in text(client.get(reverse("booking:summary")))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("booking:summary"), {"token": str(hold.token)})
    assert Booking.objects.get().person == registration.person
    assert len(mailoutbox) == 1


def test_online_registration_shows_the_code(client, db):
    page = client.get(reverse("booking:register"))
    assert page.status_code == 200
    response = client.post(
        reverse("booking:register"),
        {
            "first_name": "Karl",
            "last_name": "Kühn",
            "birth_date": "01.02.1940",
            "email": "",
            "phone": "0351 1234567",
            "postcode": "09111",
            "group": "",
        },
    )
    assert response.url == reverse("booking:registered")
    registration = Registration.objects.get()
    assert registration.channel == "online"
    assert format_code(registration.code) in text(client.get(reverse("booking:registered")))


# --- Eligibility ----------------------------------------------------------------------------


def test_not_eligible_is_explained(client, centre, comirnaty):
    # Only groups 1 and 2 open: a 40-year-old without a declared group may not book yet.
    PriorityGroup.objects.filter(number__gte=3).update(open_from=None)
    born = (timezone.localdate() - timedelta(days=365 * 40 + 20)).strftime("%d.%m.%Y")
    response = check_in(client, born=born)
    assert response.status_code == 200
    assert "Sie können leider noch nicht buchen" in text(response)
    assert "Zurzeit können Menschen ab 70 Jahren buchen; Sie sind 40 Jahre alt." in text(response)
    assert "booking" not in client.session
    # Declaring group 2 (occupation or condition) makes the same person eligible.
    assert check_in(client, born=born, group="2").status_code == 302
    assert client.session["booking"]["group"] == 2


def test_centres_list_only_vaccines_the_age_allows(client, centre, comirnaty):
    plan(centre, vaccine_code="astra")  # Vaxzevria: only from 60 in the centres
    young = (timezone.localdate() - timedelta(days=365 * 30 + 20)).strftime("%d.%m.%Y")
    check_in(client, born=young)
    days = client.get(reverse("booking:centre", args=[centre.code]))
    assert "Comirnaty" in text(days) and "Vaxzevria" not in text(days)
    day = first_weekday_after_tomorrow()
    tampered = client.get(times_url(centre, day, "astra"))
    assert tampered.status_code == 400
    assert "nicht zugelassen" in text(tampered)


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("", "Bitte geben Sie Ihr Geburtsdatum ein."),
        ("31.02.1950", "Diesen Tag gibt es nicht."),
        ("17.05.38", "mit vier Ziffern"),
        ("gestern", "als Tag.Monat.Jahr"),
        ("01.01.1890", "älter als 120 Jahre"),
        ((date.today() + timedelta(days=30)).strftime("%d.%m.%Y"), "in der Zukunft"),
    ],
)
def test_implausible_birth_dates_are_refused_with_a_message(client, db, born, message):
    response = check_in(client, born=born)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert 'class="error-summary"' in page and 'href="#id_birth_date"' in page
    assert 'id="id_birth_date_error"' in page and 'aria-invalid="true"' in page
    assert page.count(message) == 2  # next to the field and in the summary
    assert "<title>Fehler:" in page


@pytest.mark.parametrize(
    ("postcode", "message"),
    [("0106", "fünf Ziffern"), ("00000", "Diese Postleitzahl kennen wir nicht"), ("", "Postleitzahl ein")],
)
def test_bad_postcodes_are_refused(client, db, postcode, message):
    response = check_in(client, postcode=postcode)
    assert response.status_code == 400
    assert message in text(response)


def test_birth_date_in_other_spellings(client, centre):
    for spelling in ("17.5.1938", "17 05 1938", "1938-05-17"):
        assert check_in(client, born=spelling).status_code == 302
        assert client.session["booking"]["birth_date"] == "1938-05-17"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "erika@", "phone": ""}, "email", "E-Mail-Adresse wie name@beispiel.de"),
        ({"email": "", "phone": "call me"}, "phone", "Telefonnummer aus Ziffern"),
        ({"email": "", "phone": "12"}, "phone", "Telefonnummer aus Ziffern"),
        ({"email": "", "phone": ""}, "email", "E-Mail-Adresse oder eine Telefonnummer"),
        ({"first_name": ""}, "first_name", "Vornamen ein"),
        ({"postcode": "99999"}, "postcode", "kennen wir nicht"),
    ],
)
def test_personal_data_is_validated(client, centre, overrides, field, message):
    hold_pair(client, centre)
    response = enter_details(client, **overrides)
    assert response.status_code == 400
    assert message in text(response)
    assert f'href="#id_{field}"' in text(response)


def test_unknown_registration_code(client, centre):
    hold_pair(client, centre)
    mistyped = client.post(reverse("booking:details"), {"form": "registration", "registration_code": "ABC"})
    assert "Ein Code hat 10 Zeichen" in text(mistyped)
    unknown = client.post(
        reverse("booking:details"), {"form": "registration", "registration_code": "ACDE-FHJK-MN"}
    )
    assert unknown.status_code == 400
    assert "Diesen Registrierungscode kennen wir nicht" in text(unknown)


def test_tampered_time_and_centre(client, centre):
    check_in(client)
    day = first_weekday_after_tomorrow()
    for value in ("not-a-time", f"{day.isoformat()}T03:00", "2020-01-01T08:00"):
        response = client.post(times_url(centre, day), {"time": value})
        assert response.status_code == 400
        assert "Diese Uhrzeit ist nicht (mehr) frei" in text(response)
    assert not Hold.objects.exists()
    assert client.get(reverse("booking:centre", args=["XX99"])).status_code == 404
    assert (
        client.get(reverse("booking:times", args=[centre.code, "31-02-2021", "comirnaty"])).status_code == 404
    )
    assert (
        client.get(reverse("booking:times", args=[centre.code, day.isoformat(), "nope"])).status_code == 404
    )


def test_a_time_taken_meanwhile_is_refused(client, centre, comirnaty):
    check_in(client)
    day = first_weekday_after_tomorrow()
    page = client.get(times_url(centre, day))
    first_time = offered_times(page)[0]
    # Someone else holds both pairs at that time (2 lanes) after the page was shown.
    hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner="other")
    hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=day, owner="other-2")
    response = client.post(times_url(centre, day), {"time": first_time})
    assert response.status_code == 400
    assert "nicht (mehr) frei" in text(response)


def test_a_token_that_is_not_yours(client, centre, comirnaty):
    hold_pair(client, centre)
    enter_details(client)
    foreign = hold_create_next(
        centre_id=centre.id, vaccine_id=comirnaty.id, day=first_weekday_after_tomorrow(), owner="someone"
    )
    for token in (str(foreign.token), str(uuid.uuid4()), "garbage"):
        response = client.post(reverse("booking:summary"), {"token": token})
        assert response.status_code == 409
        assert "Diese Reservierung gibt es nicht (mehr)" in text(response)
    extend = client.post(reverse("booking:hold_extend"), {"token": str(foreign.token)})
    assert extend.status_code == 409
    assert not Booking.objects.exists()
    foreign.refresh_from_db()
    assert not foreign.extended


def test_a_session_token_of_someone_else_is_refused(client, centre, comirnaty):
    # Even if the session itself points at another owner's hold (e.g. a copied session value).
    check_in(client)
    foreign = hold_create_next(
        centre_id=centre.id, vaccine_id=comirnaty.id, day=first_weekday_after_tomorrow(), owner="someone"
    )
    session = client.session
    session["booking"] = session["booking"] | {"token": str(foreign.token)}
    session.save()
    assert client.get(reverse("booking:hold")).status_code == 409


def test_an_expired_hold_gets_a_clear_page(client, centre):
    hold = hold_pair(client, centre)
    enter_details(client)
    past = timezone.now() - timedelta(seconds=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=past)
    Appointment.objects.filter(claim_token=hold.token).update(claimed_until=past)
    for url in ("booking:hold", "booking:details", "booking:summary"):
        response = client.get(reverse(url))
        assert response.status_code == 409
        assert "Ihre Reservierung ist abgelaufen" in text(response)
    response = client.post(reverse("booking:summary"), {"token": str(hold.token)})
    assert response.status_code == 409
    assert "abgelaufen" in text(response)
    assert not Booking.objects.exists()


def test_steps_without_the_earlier_ones_redirect_to_the_start(client, db):
    for name in (
        "booking:centres",
        "booking:hold",
        "booking:details",
        "booking:summary",
        "booking:confirmation",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url == reverse("booking:start")
    assert client.get(reverse("booking:manage_booking")).url == reverse("booking:manage")


def test_already_booked_person_is_told_the_masked_code(client, centre, django_capture_on_commit_callbacks):
    hold = hold_pair(client, centre)
    enter_details(client)
    client.post(reverse("booking:summary"), {"token": str(hold.token)})
    booking = Booking.objects.get()
    # The same person books again (in the same browser, with another e-mail address).
    hold2 = hold_pair(client, centre)
    enter_details(client, email="other@example.org")
    response = client.post(reverse("booking:summary"), {"token": str(hold2.token)})
    assert response.status_code == 409
    assert booking.masked_code in text(response)
    assert booking.code not in text(response)


@pytest.mark.parametrize("code", ["ACDE-FHJK-MN", "0000-0000-00", ""])
def test_foreign_or_mistyped_booking_code(client, centre, code):
    response = client.post(reverse("booking:manage"), {"code": code, "birth_date": BORN})
    assert response.status_code == 400
    assert 'href="#id_code"' in text(response)


def test_a_right_code_with_the_wrong_birth_date_tells_nothing(client, centre):
    hold = hold_pair(client, centre)
    enter_details(client)
    client.post(reverse("booking:summary"), {"token": str(hold.token)})
    code = Booking.objects.get().code
    other = client.post(reverse("booking:manage"), {"code": code, "birth_date": "18.05.1938"})
    assert "keine Buchung gefunden" in text(other)


def test_tampered_second_dose_time_when_managing(client, centre):
    hold = hold_pair(client, centre)
    enter_details(client)
    client.post(reverse("booking:summary"), {"token": str(hold.token)})
    booking = Booking.objects.get()
    client.post(reverse("booking:manage"), {"code": booking.code, "birth_date": BORN})
    response = client.post(reverse("booking:manage_move"), {"time": "2020-01-01T10:00"}, follow=True)
    assert "Diese Uhrzeit ist nicht (mehr) frei" in text(response)
    assert Booking.objects.get().second_id == booking.second_id


# --- English --------------------------------------------------------------------------------


def test_english_pages_render(client, centre):
    for path in ("/en/termin/", "/en/termin/verwalten/", "/en/registrieren/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<html lang="en">' in text(response)
    response = client.post("/en/termin/", {"birth_date": BORN, "group": "", "postcode": "01067"})
    assert response.status_code == 302 and response.url == "/en/termin/impfzentrum/"
    centres = client.get(response.url)
    assert centres.status_code == 200
    assert '<html lang="en">' in text(centres)
