from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from centres.models import Centre, Closure
from centres.services import centres_load

BERLIN = ZoneInfo("Europe/Berlin")
A_MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
A_SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def centres(db):
    centres_load()


@pytest.fixture
def today_is(monkeypatch):
    def set_now(moment):
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return set_now


def test_landing_page_lists_all_13_centres_with_address_and_todays_hours(client, centres, today_is):
    today_is(A_MONDAY)
    html = client.get("/").content.decode()
    for centre in Centre.objects.all():
        assert centre.name in html
        assert centre.street in html
        assert f"{centre.postcode} {centre.town}" in html
    assert "08:00–20:00" in html  # Chemnitz, weekdays
    assert "07:00–19:00" in html  # Pirna, weekdays


def test_landing_page_shows_weekend_hours_on_sundays(client, centres, today_is):
    today_is(A_SUNDAY)
    html = client.get("/").content.decode()
    assert "09:00–17:00" in html
    assert "08:00–18:00" not in html


def test_landing_page_says_when_a_centre_is_closed_today(client, centres, today_is):
    today_is(A_MONDAY)
    Closure.objects.create(
        centre=Centre.objects.get(code="RI01"), date=A_MONDAY.date(), reason="Stromausfall"
    )
    html = client.get("/").content.decode()
    assert "Stromausfall" in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["imprint", "privacy", "accessibility"])
def test_footer_pages_exist_and_are_linked_from_every_page(client, name):
    url = reverse(name)
    assert client.get(url).status_code == 200
    assert f'href="{url}"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_page_frame_has_skip_link_one_stylesheet_and_no_external_resources(client):
    html = client.get("/").content.decode()
    assert 'href="#main"' in html and 'id="main"' in html
    assert html.count('rel="stylesheet"') == 1
    assert "<script" not in html  # nothing needs JavaScript
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert '<html lang="de"' in html


@pytest.mark.django_db
def test_language_switch_is_a_plain_link_to_the_english_page(client):
    html = client.get("/impressum/").content.decode()
    assert 'href="/en/impressum/" hreflang="en"' in html
    english = client.get("/en/").content.decode()
    assert '<html lang="en"' in english
    assert "Vaccination centres in Saxony" in english
    assert 'href="/" hreflang="de"' in english


@pytest.mark.django_db
def test_public_pages_set_no_cookies_so_shared_caches_can_serve_them(client):
    for url in ["/", "/en/", "/impressum/", "/en/datenschutz/"]:
        response = client.get(url, headers={"accept-language": "en"})
        assert response.cookies == {}, url
        assert "Cookie" not in response.get("Vary", ""), url
    # German is the language of / whatever the browser prefers.
    assert '<html lang="de"' in client.get("/", headers={"accept-language": "en"}).content.decode()


@pytest.mark.django_db
def test_unknown_page_gets_a_german_404_page(client):
    response = client.get("/gibt-es-nicht/")
    assert response.status_code == 404
    assert "nicht gefunden" in response.content.decode()
