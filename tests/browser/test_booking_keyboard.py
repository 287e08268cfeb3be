"""The booking flow with the keyboard alone: Tab, Shift+Tab, Enter, arrow keys and typing, never a
click. At every step the test checks which element has focus and that it shows a focus ring."""

import re

import pytest

from booking.codes import format_code
from booking.models import Booking
from tests.booking.conftest import plan
from tests.factories import CentreFactory

# What has focus: enough to find it by its accessible name and to say what it was in a failure.
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return {tag: "body", id: "", name: "", cls: "", checked: false,
                                             ring: false, size: false, inView: false};
    const text = (node) => (node ? node.textContent : "").replace(/\\s+/g, " ").trim();
    let name = el.getAttribute("aria-label") || "";
    if (!name && el.getAttribute("aria-labelledby")) {
        name = el.getAttribute("aria-labelledby").split(" ")
            .map((id) => text(document.getElementById(id))).join(" ");
    }
    if (!name && el.labels && el.labels.length) name = [...el.labels].map(text).join(" ");
    if (!name) name = text(el) || el.value || "";
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    const rect = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(), id: el.id, name: name.trim(), cls: el.className,
        checked: !!el.checked,
        ring: outline || style.boxShadow !== "none",
        size: rect.width > 0 && rect.height > 0,
        inView: rect.bottom > 0 && rect.top < window.innerHeight,
    };
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def describe(info: dict) -> str:
    if info["tag"] == "body":
        return "nothing (the page's body)"
    ident = f"#{info['id']}" if info["id"] else ""
    return f"<{info['tag']}{ident}> {info['name'][:60]!r}"


def assert_focus_ring(page) -> dict:
    info = focused(page)
    assert info["size"], f"the focused element is not visible: {describe(info)} on {page.url}"
    assert info["inView"], f"the focused element is outside the window: {describe(info)} on {page.url}"
    assert info["ring"], f"no focus ring (outline and box-shadow both none) on {describe(info)} on {page.url}"
    return info


def tab_to(page, predicate, limit=60, key="Tab") -> dict:
    """Press Tab (or `key`) until the focused element matches `predicate(info)`; the focused
    element must show a focus ring. Fails listing every element that had focus on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = focused(page)
        seen.append(describe(info))
        if predicate(info):
            return assert_focus_ring(page)
    pytest.fail(
        f"{limit} x {key} on {page.url} never reached the element; focus went to:\n  " + "\n  ".join(seen)
    )


def named(pattern):
    """A predicate: the focused element's accessible name matches the regular expression."""
    return lambda info: re.search(pattern, info["name"]) is not None


def with_id(element_id):
    return lambda info: info["id"] == element_id


def press_and_load(page, key="Enter"):
    """Press a key that sends a form or follows a link, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.fixture
def centre(page):
    """A centre with planned appointments, as in tests/booking/conftest.py."""
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre)
    return centre


def test_book_a_pair_with_the_keyboard_alone(centre, page):
    page.goto("/")
    tab_to(page, named(r"^Termin buchen$"))
    press_and_load(page)

    # Step 1: birth date, the "no group" radio (chosen with the arrow keys), postcode, Enter.
    page.get_by_role("heading", name="Können Sie schon buchen?").wait_for()
    tab_to(page, with_id("id_birth_date"))
    page.keyboard.type("17.05.1938")
    page.keyboard.press("Tab")
    radio = assert_focus_ring(page)
    assert radio["name"] == "Nein, ich buche wegen meines Alters." and radio["checked"], describe(radio)
    page.keyboard.press("ArrowDown")  # a priority group ...
    assert focused(page)["name"].startswith("Ja, Gruppe"), describe(focused(page))
    page.keyboard.press("ArrowUp")  # ... and back to "no group"
    radio = assert_focus_ring(page)
    assert radio["name"] == "Nein, ich buche wegen meines Alters." and radio["checked"], describe(radio)
    page.keyboard.press("Tab")  # one Tab leaves the radio group
    assert focused(page)["id"] == "id_postcode", describe(focused(page))
    assert_focus_ring(page)
    page.keyboard.type("01067")
    press_and_load(page)  # Enter in a text field sends the form

    # Step 2: the centre; Shift+Tab goes back the same way.
    page.get_by_role("heading", name="Impfzentrum wählen").wait_for()
    tab_to(page, named(r"^Tag wählen: Impfzentrum Dresden$"))
    tab_to(page, named(r"^Angaben ändern$"), key="Shift+Tab")
    tab_to(page, named(r"^Tag wählen: Impfzentrum Dresden$"))
    press_and_load(page)

    # Step 3: a day, then a half hour.
    page.get_by_role("heading", name=re.compile("Tag wählen")).wait_for()
    tab_to(page, named(r"^Comirnaty.*: \d+ Termine? frei$"))
    press_and_load(page)
    page.get_by_role("heading", name=re.compile("Uhrzeit wählen")).wait_for()
    tab_to(page, named(r"^\d\d:\d\d"))
    press_and_load(page)

    # Step 4: the hold. Another day for the second dose: focus goes to that section, whose
    # times come next.
    page.get_by_role("heading", name="Ihre Termine sind reserviert").wait_for()
    tab_to(page, named(r"^\w+, \d+\. \w+ \d{4}$"))
    press_and_load(page)
    assert focused(page)["id"] == "zweittermin", describe(focused(page))
    tab_to(page, named(r"^\d\d:\d\d"))

    # Back up to the extend button; the countdown ticks without taking focus from it.
    countdown = page.get_by_text(re.compile(r"Noch \d+:\d\d Minuten"))
    tab_to(page, named(r"^Mehr Zeit: Reservierung verlängern$"), key="Shift+Tab")
    first_reading = countdown.inner_text()
    page.wait_for_timeout(1200)
    assert countdown.inner_text() != first_reading
    assert focused(page)["name"] == "Mehr Zeit: Reservierung verlängern", describe(focused(page))
    assert_focus_ring(page)
    press_and_load(page)
    page.get_by_text("ein weiteres Mal geht nicht").wait_for()
    tab_to(page, named(r"^Weiter zu Ihren Angaben$"))
    press_and_load(page)

    # Step 5: personal data, first with a malformed e-mail address.
    page.get_by_role("heading", name="Ihre Angaben", exact=True).wait_for()
    tab_to(page, with_id("id_first_name"))
    page.keyboard.type("Erika")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_last_name", describe(focused(page))
    page.keyboard.type("Mustermann")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_email", describe(focused(page))
    page.keyboard.type("erika@")
    tab_to(page, named(r"^Weiter zur Übersicht$"))
    press_and_load(page)

    # The error summary at the top has focus; its link takes focus to the field.
    summary = focused(page)
    assert "error-summary" in summary["cls"], f"focus is not on the error summary: {describe(summary)}"
    assert_focus_ring(page)
    assert page.title().startswith("Fehler:")
    link = tab_to(page, named(r"^E-Mail-Adresse: "), limit=1)
    assert "name@beispiel.de" in link["name"]
    page.keyboard.press("Enter")
    field = focused(page)
    assert field["id"] == "id_email", (
        f"the error summary's link did not move focus to the field: {describe(field)}"
    )
    assert_focus_ring(page)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("erika@example.org")
    press_and_load(page)

    # Step 6: summary and confirm.
    page.get_by_role("heading", name="Bitte prüfen und bestätigen").wait_for()
    assert page.get_by_text("erika@example.org").is_visible()
    tab_to(page, named(r"^Termine verbindlich buchen$"))
    press_and_load(page)

    # The confirmation with the booking code; its controls are reachable too.
    page.get_by_role("heading", name="Ihre Termine sind gebucht").wait_for()
    booking = Booking.objects.get()
    assert booking.person.email == "erika@example.org"
    assert page.get_by_text(format_code(booking.code)).is_visible()
    tab_to(page, named(r"^Diese Seite drucken$"))
    tab_to(page, named(r"^Termin verwalten$"))
