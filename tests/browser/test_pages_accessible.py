"""Every public page, German and English, in Chromium: axe-core, reflow on a phone, keyboard use."""

import pytest
from django.template.loader import render_to_string

from centres.services import centres_load
from supply.models import Vaccine

# (path, expected status). The landing page is checked with all 13 centres listed.
PAGES = [
    ("/", 200),
    ("/impressum/", 200),
    ("/datenschutz/", 200),
    ("/barrierefreiheit/", 200),
    ("/gibt-es-nicht/", 404),
    ("/en/", 200),
    ("/en/impressum/", 200),
    ("/en/datenschutz/", 200),
    ("/en/barrierefreiheit/", 200),
    ("/en/does-not-exist/", 404),
    ("/freie-termine/", 200),
    ("/freie-termine/?alter=45", 200),
    ("/freie-termine/?alter=alt", 200),
    ("/en/freie-termine/", 200),
]
PHONE = {"width": 320, "height": 640}  # WCAG 1.4.10 reflow: 1280 px at 400 %
ZOOM_200 = {"width": 640, "height": 400}  # a 1280 x 800 window at 200 % zoom


@pytest.fixture
def open_page(page):
    """open_page(path, status): the page with the 13 centres in the database, at the expected status."""
    centres_load()

    def open_(path, status=200):
        response = page.goto(path)
        assert response.status == status, f"{path} answered {response.status}, expected {status}"
        return page

    return open_


FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        href: el.getAttribute('href'),
        text: (el.textContent || '').trim().slice(0, 40),
        inHeader: !!el.closest('header'),
        inMain: !!el.closest('main'),
        ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
        // Wholly on screen; or, for a region taller than the screen (a table that scrolls
        // sideways on a phone), filling the screen where focus scrolled it (its ring at the sides).
        onScreen: box.width > 0 && box.height > 0 && (
            (box.top >= 0 && box.bottom <= window.innerHeight + 1)
            || (box.height > window.innerHeight && box.top < window.innerHeight && box.bottom > 0)),
    };
}"""


def tab_stops(page):
    """Every element Tab reaches, in order, until focus leaves the page or comes round again."""
    stops = []
    for _ in range(100):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "body" or (stops and focused == stops[0]):
            break
        stops.append(focused)
    return stops


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_page_passes_axe_reflows_and_works_by_keyboard(
    open_page, assert_accessible, assert_no_horizontal_scroll, path, status
):
    # One test per page: each test costs a database flush, and the checks share the loaded page.
    page = open_page(path, status)
    assert_accessible(page)

    for viewport in (ZOOM_200, PHONE):
        page.set_viewport_size(viewport)
        assert_no_horizontal_scroll(page)
    assert_accessible(page)

    # On the phone: the skip link comes first, and every tab stop scrolls into view with its ring.
    stops = tab_stops(page)
    assert stops and stops[0]["href"] == "#main", f"the first tab stop is not the skip link: {stops[:1]}"
    assert any(stop["inMain"] for stop in stops), f"Tab never reaches main: {stops}"
    hidden = [stop for stop in stops if not (stop["ring"] and stop["onScreen"])]
    assert not hidden, f"tab stops without a visible focus ring on screen: {hidden}"

    page.locator('a[href="#main"]').focus()
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED)["id"] == "main", "the skip link does not move focus to main"
    page.keyboard.press("Tab")
    after_skip = page.evaluate(FOCUSED)
    assert not after_skip["inHeader"], f"Tab after the skip link went back to the header: {after_skip}"


def test_csrf_failure_page_is_accessible(open_page, assert_accessible, assert_no_horizontal_scroll):
    # A POST without the CSRF cookie: Django answers with templates/403_csrf.html.
    page = open_page("/")
    with page.expect_navigation():
        page.evaluate(
            "() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/';"
            " document.body.append(f); f.submit(); }"
        )
    assert page.locator("h1").inner_text() == "Formular nicht gesendet"
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_no_horizontal_scroll(page)


def test_server_error_page_is_accessible(page, live_server, assert_accessible, assert_no_horizontal_scroll):
    # templates/500.html is served by Django's default handler; no URL fails on purpose, so it is
    # rendered here and handed to the browser under the live server's origin (for its stylesheet).
    html = render_to_string("500.html")
    page.route(
        "**/server-error", lambda route: route.fulfill(status=500, body=html, content_type="text/html")
    )
    page.goto("/server-error")
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_no_horizontal_scroll(page)


CONTROL_PAGE = """<!DOCTYPE html><html><head><title>Control</title></head><body>
<main><h1>Control</h1><img src="data:,"><p style="width: 2000px">too wide</p></main></body></html>"""


def test_control_the_checks_catch_what_they_are_for(browser, assert_accessible, assert_no_horizontal_scroll):
    # The checks above pass on every page; this shows they are able to fail.
    page = browser.new_page(viewport=PHONE)
    page.set_content(CONTROL_PAGE)
    with pytest.raises(AssertionError) as axe_failure:
        assert_accessible(page)
    assert "html-has-lang (serious)" in str(axe_failure.value)
    assert "image-alt (critical)" in str(axe_failure.value)
    with pytest.raises(AssertionError, match="scrolls sideways at 320 px"):
        assert_no_horizontal_scroll(page)
    page.close()


def test_rows_of_the_data_migrations_are_back_for_every_browser_test(page):
    # The browser tests before this one each flushed the database; serialized rollback restores
    # what the data migrations wrote, on the connection the test database was created with.
    assert Vaccine.objects.filter(code="moderna").exists()
