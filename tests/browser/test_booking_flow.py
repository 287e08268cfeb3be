"""The booking flow in headless Chromium, as a person would go through it: every page passes
axe-core at 1280 px and on a 320 px phone without sideways scrolling; the countdown runs."""

import re

import pytest

from booking.codes import format_code
from booking.models import Booking
from tests.booking.conftest import plan
from tests.factories import CentreFactory

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 320, "height": 640}


@pytest.fixture
def check(assert_accessible, assert_no_horizontal_scroll):
    """check(page): axe at 1280 px and at 320 px, and no sideways scrolling on the phone."""

    def check_(page):
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
        page.set_viewport_size(DESKTOP)

    return check_


@pytest.fixture
def centre(page):
    """A centre with planned appointments, as in tests/booking/conftest.py."""
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre)
    return centre


def assert_error_summary_focused(page) -> None:
    """The page after a refused form moves focus to its error summary; wait for that page (the
    click only starts the navigation) rather than read the focus of the page being left."""
    page.wait_for_function(
        "() => (document.activeElement?.className || '').includes('error-summary')", timeout=5000
    )


def test_book_a_pair_see_the_countdown_confirm_and_manage(centre, page, check):
    page.goto("/")
    check(page)
    page.get_by_role("link", name="Termin buchen").click()

    # Step 1, first with nothing filled in: the error summary takes focus.
    page.get_by_role("button", name="Weiter").click()
    assert page.title().startswith("Fehler:")
    assert_error_summary_focused(page)
    check(page)
    page.get_by_label("Geburtsdatum").fill("17.05.1938")
    page.get_by_label("Postleitzahl").fill("01067")
    page.get_by_role("button", name="Weiter").click()

    # Step 2: centres by distance, with free counts.
    page.get_by_role("heading", name="Impfzentrum wählen").wait_for()
    check(page)
    page.get_by_role("link", name=re.compile(r"Tag wählen.*Impfzentrum Dresden")).click()

    # Step 3: a day, then a time.
    check(page)
    page.get_by_role("link", name=re.compile(r"Comirnaty.*Termine frei")).first.click()
    check(page)
    page.get_by_role("button", name=re.compile(r"\d\d:\d\d Uhr")).first.click()

    # Step 4: the held pair, the end time as text and a live countdown.
    page.get_by_role("heading", name="Ihre Termine sind reserviert").wait_for()
    assert page.get_by_text(
        re.compile(r"Diese Termine sind bis \d\d:\d\d Uhr für Sie reserviert")
    ).is_visible()
    countdown = page.get_by_text(re.compile(r"Noch \d+:\d\d Minuten"))
    first_reading = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first_reading
    assert page.get_by_role("button", name="Mehr Zeit: Reservierung verlängern").is_visible()
    check(page)
    page.get_by_role("link", name=re.compile(r"\d{4}")).first.click()  # another day for the 2nd dose
    check(page)
    page.get_by_role("link", name="Weiter zu Ihren Angaben").click()

    # Step 5: personal data, first with a malformed e-mail address.
    page.get_by_label("Vorname").fill("Erika")
    page.get_by_label("Nachname").fill("Mustermann")
    page.get_by_label("E-Mail-Adresse").fill("erika@")
    page.get_by_role("button", name="Weiter zur Übersicht").click()
    assert_error_summary_focused(page)
    check(page)
    page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    page.get_by_role("button", name="Weiter zur Übersicht").click()

    # Step 6: summary and confirm.
    page.get_by_role("heading", name="Bitte prüfen und bestätigen").wait_for()
    check(page)
    page.get_by_role("button", name="Termine verbindlich buchen").click()

    page.get_by_role("heading", name="Ihre Termine sind gebucht").wait_for()
    booking = Booking.objects.get()
    assert page.get_by_text(format_code(booking.code)).is_visible()
    check(page)

    # Termin verwalten: look up, then the cancel question.
    page.goto("/termin/verwalten/")
    check(page)
    page.get_by_label("Buchungscode").fill(booking.code)
    page.get_by_label("Geburtsdatum").fill("17.05.1938")
    page.get_by_role("button", name="Buchung anzeigen").click()
    page.get_by_role("heading", name="Ihre Buchung").wait_for()
    check(page)
    page.get_by_role("link", name="Buchung stornieren").click()
    check(page)
    page.get_by_role("button", name="Ja, beide Termine stornieren").click()
    page.get_by_text("Diese Buchung ist storniert.").wait_for()
    check(page)


def test_registration_and_english_pages(centre, page, check):
    page.goto("/registrieren/")
    check(page)
    page.get_by_label("Vorname").fill("Karl")
    page.get_by_label("Nachname").fill("Kühn")
    page.get_by_label("Geburtsdatum").fill("31.02.1940")
    page.get_by_label("Telefonnummer").fill("0351 1234567")
    page.get_by_label("Postleitzahl").fill("09111")
    page.get_by_role("button", name="Registrieren").click()
    assert_error_summary_focused(page)
    check(page)
    page.get_by_label("Geburtsdatum").fill("01.02.1940")
    page.get_by_role("button", name="Registrieren").click()
    page.get_by_role("heading", name="Sie sind registriert").wait_for()
    check(page)
    for path in ("/en/termin/", "/en/termin/verwalten/", "/en/registrieren/"):
        page.goto(path)
        check(page)
