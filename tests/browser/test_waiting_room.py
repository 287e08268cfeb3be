"""The waiting room in headless Chromium: every state a waiting person sees passes axe-core and
reflows at 200 % zoom and on a 320 px phone; the waiting page follows the queue by itself, with
JavaScript (it polls the shared state) and without (it refreshes itself); a reload keeps the place.

The live server runs in another thread of this process: the tick (`tick()`) and the test's other
writes reach it once committed, and settings changed here apply to it at once.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking.services.bookings import booking_confirm
from booking.services.holds import hold_create_next
from supply.models import Appointment
from tests.booking.conftest import person, plan, tomorrow
from tests.browser.test_booking_keyboard import named, press_and_load, tab_to
from tests.factories import CentreFactory
from tests.waitingroom.conftest import make_release, open_now, tick
from waitingroom import selectors
from waitingroom.models import Release, Ticket
from waitingroom.services import admission_enter, queue_join
from waitingroom.tokens import admission_owner

DESKTOP = {"width": 1280, "height": 800}
ZOOM_200 = {"width": 640, "height": 400}  # a 1280 x 800 window at 200 % zoom
PHONE = {"width": 320, "height": 640}  # WCAG 1.4.10 reflow: 1280 px at 400 %
POLL_SECONDS = 2
# Long enough for a poll (2 s with up to 20 % jitter) or a refresh, and the page it brings; after
# the opening's draw, the page reloads within three poll intervals.
NOTICED_WITHIN_MS = 15_000

ROOM = "/warteraum/"
WAITING_BY_DRAW = "Ihr Platz wird bei der Öffnung verlost."
CALLED = "Sie sind an der Reihe"


@pytest.fixture(autouse=True)
def queue_states_read_fresh(settings):
    """Each request of the live server reads the queue states anew (tests/waitingroom/conftest.py's
    fresh_states does not reach this folder), and a waiting page polls every 2 seconds."""
    settings.WAITINGROOM_STATE_SECONDS = 0
    settings.WAITINGROOM_POLL_SECONDS = POLL_SECONDS
    selectors.clear_cache()
    yield
    selectors.clear_cache()


@pytest.fixture
def centre(page):
    """A centre with planned appointments that only a release makes bookable (60 pairs)."""
    centre = CentreFactory(code="DD01", name="Impfzentrum Dresden", lanes=2, minutes_per_vaccination=15)
    plan(centre, release=False)
    return centre


@pytest.fixture
def check(assert_accessible, assert_no_horizontal_scroll):
    """check(page): axe at 1280 px and at 320 px; no sideways scrolling at 200 % zoom nor at 320 px."""

    def check_(page):
        assert_accessible(page)
        page.set_viewport_size(ZOOM_200)
        assert_no_horizontal_scroll(page)
        page.set_viewport_size(PHONE)
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
        page.set_viewport_size(DESKTOP)

    return check_


def someone_else_joins(release) -> Ticket:
    return queue_join(release_id=release.pk, client_address="192.0.2.1")


def books(ticket: Ticket) -> None:
    """What a called person does: enter, hold a pair under the admission, confirm (which spends it)."""
    admission_enter(ticket_id=ticket.pk)
    first = Appointment.objects.filter(dose=1).first()
    hold = hold_create_next(
        centre_id=first.centre_id,
        vaccine_id=first.vaccine_id,
        day=tomorrow(),
        owner=admission_owner(ticket.pk),
    )
    booking_confirm(token=hold.token, person=person(first="Vorne", email="vorne@example.org"))


def waiting_code(page) -> str:
    """The Wartenummer shown on the waiting page (ABCD-EFGH)."""
    text = page.get_by_text("Ihre Wartenummer:").inner_text()
    return re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text).group()


def mark_document(page) -> None:
    """Tag the document now shown, to tell later whether the page was reloaded meanwhile."""
    page.evaluate("window.sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.sameDocument === true")


def test_faq_pre_queue_and_the_draw_at_the_opening(centre, page, check):
    release = make_release(opens_in=timedelta(minutes=30))

    page.goto("/warteraum/fragen/")
    expect(page.get_by_role("heading", name="Fragen und Antworten zum Warteraum", level=1)).to_be_visible()
    expect(page.get_by_text("Nächste oder laufende Freigabe: „Freigabe Test“")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Zum Warteraum").click()

    # The join page in the pre-queue: coming early brings nothing.
    expect(page.get_by_text("Sie können sich schon jetzt anstellen")).to_be_visible()
    expect(page.get_by_text("zufällig verlosten Platz")).to_be_visible()
    check(page)
    tab_to(page, named(r"^In der Warteschlange anstellen$"))
    press_and_load(page)

    # Waiting in the pre-queue: no place before the draw.
    expect(page.get_by_role("heading", name="Sie sind in der Warteschlange")).to_be_visible()
    expect(page.get_by_text(WAITING_BY_DRAW)).to_be_visible()
    expect(page.get_by_text("(1 Person), einen zufälligen Platz")).to_be_visible()
    check(page)
    code = waiting_code(page)
    page.reload()
    expect(page.get_by_text(WAITING_BY_DRAW)).to_be_visible()
    assert waiting_code(page) == code, "the reload gave another ticket"
    assert Ticket.objects.count() == 1

    # The opening and its draw: the page notices by itself; the only ticket drew place 1 and is called.
    open_now(release)
    tick()
    expect(page.get_by_role("heading", name=CALLED, level=1)).to_be_visible(timeout=NOTICED_WITHIN_MS)
    assert page.url.endswith(ROOM)
    expect(page.get_by_role("alert")).to_contain_text("20 Minuten Zeit")
    assert page.title().startswith(f"{CALLED} – ")
    check(page)


def test_from_the_eligibility_check_through_the_queue_to_the_centres_by_keyboard(centre, page, check):
    release = make_release(admission_limit=1)
    tick()  # the opening: nobody joined before it, so places are arrival order from now on
    ahead = someone_else_joins(release)

    # The eligibility check comes first, then the gate sends everyone to the waiting room.
    page.goto("/termin/")
    page.get_by_label("Geburtsdatum").fill("17.05.1938")
    page.get_by_label("Postleitzahl").fill("01067")
    page.get_by_label("Postleitzahl").focus()
    press_and_load(page)  # Enter in a text field sends the form
    page.wait_for_url(f"**{ROOM}")
    expect(page.get_by_text("Bitte stellen Sie sich im Warteraum an")).to_be_visible()
    expect(page.get_by_text("Gerade werden die Termine der Freigabe „Freigabe Test“")).to_be_visible()
    check(page)
    tab_to(page, named(r"^In der Warteschlange anstellen$"))
    press_and_load(page)

    # Place 2, the person who joined first ahead; the free pairs of the release.
    expect(page.get_by_text("Ihr Platz: 2")).to_be_visible()
    expect(page.get_by_text("Vor Ihnen wartet noch 1 Person.")).to_be_visible()
    expect(page.get_by_text("Von dieser Freigabe sind noch 60 Terminpaare frei.")).to_be_visible()
    check(page)
    code = waiting_code(page)
    page.reload()
    expect(page.get_by_text("Ihr Platz: 2")).to_be_visible()
    assert waiting_code(page) == code, "the reload gave another ticket"
    assert Ticket.objects.count() == 2

    # The tick calls the person ahead (the limit is one at a time): the numbers change in place.
    mark_document(page)
    tick()
    expect(page.get_by_text("Sie sind als Nächstes an der Reihe.")).to_be_visible(timeout=NOTICED_WITHIN_MS)
    assert same_document(page), "the page reloaded to update the number of people ahead"
    expect(page.get_by_text("Ihr Platz: 2")).to_be_visible()

    # That person books; the next tick calls us, and the page notices by itself.
    books(ahead)
    tick()
    expect(page.get_by_role("heading", name=CALLED, level=1)).to_be_visible(timeout=NOTICED_WITHIN_MS)
    expect(page.get_by_text("Von dieser Freigabe")).to_have_count(0)
    check(page)
    tab_to(page, named(r"^Jetzt Termin buchen$"))
    press_and_load(page)

    page.get_by_role("heading", name="Impfzentrum wählen").wait_for()
    expect(page.get_by_role("link", name=re.compile(r"Tag wählen.*Impfzentrum Dresden"))).to_be_visible()
    assert Ticket.objects.exclude(pk=ahead.pk).get().entered_at is not None


def test_without_javascript_the_waiting_page_refreshes_itself(centre, page, browser, live_server):
    release = make_release(admission_limit=1)
    tick()
    ahead = someone_else_joins(release)
    tick()  # the person ahead is called and books for a while

    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, locale="de-DE", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    try:
        nojs = context.new_page()
        nojs.goto(ROOM)
        nojs.get_by_role("button", name="In der Warteschlange anstellen").click()
        expect(nojs.get_by_text("Ihr Platz: 2")).to_be_visible()
        expect(nojs.get_by_text("Sie sind als Nächstes an der Reihe.")).to_be_visible()
        assert f'<noscript><meta http-equiv="refresh" content="{POLL_SECONDS}"></noscript>' in nojs.content()

        loads = []
        nojs.on("load", lambda _: loads.append(nojs.url))
        Ticket.objects.filter(pk=ahead.pk).update(used_at=timezone.now())  # booked, as far as the tick cares
        tick()
        expect(nojs.get_by_role("heading", name=CALLED, level=1)).to_be_visible(timeout=NOTICED_WITHIN_MS)
        assert loads and all(url.endswith(ROOM) for url in loads), loads
        assert "http-equiv" not in nojs.content(), "the page of the called person keeps refreshing"

        # Booking needs no JavaScript either.
        nojs.get_by_role("button", name="Jetzt Termin buchen").click()
        nojs.get_by_role("heading", name="Können Sie schon buchen?").wait_for()  # no eligibility check yet
    finally:
        context.close()


def test_sold_out_reaches_the_waiting_page(centre, page, check):
    release = make_release(admission_limit=1)
    Release.objects.create(
        name="Freigabe Juni",
        first_day=tomorrow(),
        last_day=tomorrow(),
        opens_at=timezone.now() + timedelta(days=7),
    )
    tick()
    someone_else_joins(release)
    page.goto(ROOM)
    page.get_by_role("button", name="In der Warteschlange anstellen").click()
    tick()
    expect(page.get_by_text("Ihr Platz: 2")).to_be_visible()

    Appointment.objects.update(booked=True)
    tick()
    assert Release.objects.get(pk=release.pk).status == Release.Status.SOLD_OUT
    page.wait_for_function(
        "document.title.includes('Alle Termine sind vergeben')", timeout=NOTICED_WITHIN_MS
    )  # reloaded by itself

    assert page.title().startswith("Alle Termine sind vergeben – "), page.title()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Alle Termine sind vergeben", heading
    expect(page.get_by_role("alert")).to_contain_text("Die nächste Freigabe „Freigabe Juni“ öffnet am")
    expect(page.get_by_text("Ihr Platz")).to_have_count(0)
    check(page)
