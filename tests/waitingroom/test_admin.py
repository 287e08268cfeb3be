"""Staff schedule releases and end waiting rooms in the admin, and look up tickets by code."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from booking.codes import format_code
from supply.admin.common import local_time
from supply.exceptions import PlanningBusy
from supply.models import Appointment, Vaccine
from tests.booking.conftest import plan, tomorrow
from tests.factories import CentreFactory
from tests.waitingroom.conftest import make_release, tick
from waitingroom.models import Release
from waitingroom.services import queue_join

pytestmark = pytest.mark.django_db
Status = Release.Status
ADD_URL = reverse("admin:waitingroom_release_add")
NOTHING = "Im gewählten Zeitraum gibt es keine geplanten, noch nicht freigegebenen Termine."


def in_an_hour() -> datetime:
    return (timezone.localtime() + timedelta(hours=1)).replace(second=0, microsecond=0)


def add_form(centre, opens_at=None, **changes) -> dict:
    opens_at = opens_at or in_an_hour()
    data = {
        "name": "Juni",
        "centres": [centre.pk],
        "first_day": tomorrow().isoformat(),
        "last_day": (tomorrow() + timedelta(days=30)).isoformat(),
        "opens_at_0": opens_at.date().isoformat(),
        "opens_at_1": opens_at.strftime("%H:%M"),
        "prequeue_minutes": 60,
        "hotline_percent": 10,
        "hotline_count": "",
        "admission_limit": 100,
        "admission_minutes": 20,
    }
    return data | changes


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def nothing_written() -> bool:
    released = Appointment.objects.filter(bookable_from__isnull=False)
    return not Release.objects.exists() and not released.exists()


# --- Adding schedules -----------------------------------------------------------------------


@pytest.mark.parametrize(("percent", "count", "hotline"), [(10, "", 6), (50, 5, 5)])
def test_adding_a_release_makes_its_pairs_bookable_from_the_opening(
    admin_client, admin_user, centre, percent, count, hotline
):
    opens_at = in_an_hour()
    response = admin_client.post(
        ADD_URL, add_form(centre, opens_at, hotline_percent=percent, hotline_count=count)
    )
    release = Release.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:waitingroom_release_change", args=[release.pk])
    assert (release.opens_at, release.status, release.created_by) == (opens_at, Status.SCHEDULED, admin_user)
    assert list(release.centres.all()) == [centre]
    assert (release.pairs, release.hotline_pairs) == (60, hotline)
    for dose in (1, 2):
        appointments = Appointment.objects.filter(dose=dose)
        assert set(appointments.values_list("bookable_from", flat=True)) == {opens_at}
        assert appointments.filter(hotline_only=True).count() == hotline
    assert messages_of(response) == [
        f"Freigabe „Juni“ geplant: 60 Terminpaare, davon {hotline} für die Hotline. "
        f"Buchbar ab {local_time(opens_at, weekday=True)}, "
        f"Anstellen ab {local_time(opens_at - timedelta(hours=1), weekday=True)}."
    ]


def test_appointments_before_the_opening_are_not_released(admin_client, centre):
    opens_at = timezone.make_aware(datetime.combine(tomorrow(), time(12)))
    response = admin_client.post(ADD_URL, add_form(centre, opens_at, first_day=timezone.localdate()))
    assert response.status_code == 302
    released = Appointment.objects.filter(bookable_from__isnull=False, dose=1)
    assert released.count() == Release.objects.get().pairs > 0
    assert not released.filter(starts_at__lte=opens_at).exists()
    assert Appointment.objects.filter(dose=1, starts_at__lt=opens_at, bookable_from__isnull=True).exists()


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        (
            {"last_day": timezone.localdate().isoformat()},
            "last_day",
            "Der letzte Tag liegt vor dem ersten Tag.",
        ),
        (
            {"opens_at_0": timezone.localdate().isoformat(), "opens_at_1": "00:00"},
            "opens_at",
            "Die Öffnung liegt in der Vergangenheit. Bitte einen späteren Zeitpunkt wählen.",
        ),
        ({"hotline_percent": 101}, "hotline_percent", "Der Anteil kann höchstens 100 Prozent sein."),
        ({"hotline_count": 61}, "hotline_count", "Im gewählten Zeitraum gibt es nur 60 Terminpaare."),
        ({"admission_limit": 0}, "admission_limit", "Mindestens 1."),
        ({"admission_minutes": 0}, "admission_minutes", "Mindestens 1."),
    ],
)
def test_each_mistake_is_named_on_its_field_and_nothing_is_written(
    admin_client, centre, changes, field, error
):
    response = admin_client.post(ADD_URL, add_form(centre, **changes))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {field: [error]}
    assert nothing_written()


@pytest.mark.parametrize(
    "changes",
    [
        {"vaccines": ["moderna"]},  # nothing planned of it
        {
            "first_day": (tomorrow() + timedelta(days=20)).isoformat(),
            "last_day": (tomorrow() + timedelta(days=30)).isoformat(),
        },  # beyond the plan
    ],
)
def test_a_scope_with_nothing_to_release_is_refused(admin_client, centre, changes):
    if "vaccines" in changes:
        changes["vaccines"] = [Vaccine.objects.get(code=code).pk for code in changes["vaccines"]]
    response = admin_client.post(ADD_URL, add_form(centre, **changes))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"__all__": [NOTHING]}
    assert NOTHING in response.content.decode()
    assert nothing_written()


def test_pairs_gone_since_the_form_check_roll_the_whole_release_back(admin_client, centre, monkeypatch):
    # The count said there was something to release; by the scheduling it is gone (a race).
    monkeypatch.setattr("waitingroom.admin.releasable_pairs_for", lambda **scope: 5)
    far = (tomorrow() + timedelta(days=40)).isoformat()
    response = admin_client.post(ADD_URL, add_form(centre, first_day=far, last_day=far))
    assert response.status_code == 302 and response.url == ADD_URL
    assert messages_of(response) == [NOTHING]
    assert nothing_written()


def test_a_busy_planning_rolls_the_release_back(admin_client, centre, monkeypatch):
    def busy(*, release):
        raise PlanningBusy()

    monkeypatch.setattr("waitingroom.admin.release_schedule", busy)
    response = admin_client.post(ADD_URL, add_form(centre))
    assert response.status_code == 302 and response.url == ADD_URL
    assert messages_of(response) == [
        "Die Planung dieses Impfzentrums läuft gerade; bitte in einer Minute erneut versuchen."
    ]
    assert nothing_written()


# --- After scheduling -----------------------------------------------------------------------


def test_after_scheduling_only_name_and_admission_can_be_changed(admin_client, centre):
    release = make_release(opens_in=timedelta(hours=1), centres=[centre])
    url = reverse("admin:waitingroom_release_change", args=[release.pk])
    response = admin_client.get(url)
    assert set(response.context["adminform"].form.fields) == {"name", "admission_limit", "admission_minutes"}
    page = response.content.decode()
    assert "Impfzentrum Dresden" in page and "alle Impfstoffe" in page and "Warteschlange" in page

    later = (tomorrow() + timedelta(days=5)).isoformat()
    response = admin_client.post(
        url,
        {"name": "Juni, neu", "admission_limit": 50, "admission_minutes": 15, "first_day": later},
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.name, release.admission_limit, release.admission_minutes) == ("Juni, neu", 50, 15)
    assert release.first_day == tomorrow()


def test_releases_cannot_be_deleted(admin_client, centre):
    release = make_release(opens_in=timedelta(hours=1))
    response = admin_client.get(reverse("admin:waitingroom_release_delete", args=[release.pk]))
    assert response.status_code == 403


def test_the_list_and_the_page_show_the_queue(admin_client, centre):
    release = make_release()  # opened a minute ago
    queue_join(release_id=release.pk, client_address="192.0.2.1")
    tick()
    page = admin_client.get(reverse("admin:waitingroom_release_changelist")).content.decode()
    assert "Freigabe Test" in page and "alle Impfzentren" in page
    assert '<span class="plan-badge plan-badge-good">geöffnet</span>' in page
    page = admin_client.get(reverse("admin:waitingroom_release_change", args=[release.pk])).content.decode()
    assert "Warteraum beenden" in page
    assert "1, davon 0 mit reserviertem Termin" in page  # the one ticket was called


# --- Ending a waiting room ------------------------------------------------------------------


def test_the_action_ends_begun_waiting_rooms_only(admin_client, centre):
    other = CentreFactory(code="LL01", name="Impfzentrum Leipzig")
    plan(other, release=False)
    begun = make_release(name="Begonnen", centres=[centre])
    scheduled = make_release(name="Später", opens_in=timedelta(days=1), centres=[other])
    response = admin_client.post(
        reverse("admin:waitingroom_release_changelist"),
        {"action": "close_waiting_room", "_selected_action": [begun.pk, scheduled.pk]},
    )
    assert response.status_code == 302
    begun.refresh_from_db()
    scheduled.refresh_from_db()
    assert begun.status == Status.CLOSED and begun.closed_at is not None
    assert scheduled.status == Status.SCHEDULED
    assert messages_of(response) == [
        "Warteraum beendet: „Begonnen“. Die freigegebenen Termine bleiben buchbar, ohne Warteschlange.",
        "Nicht beendet, weil noch nicht begonnen oder schon beendet: „Später“.",
    ]


def test_the_button_ends_the_waiting_room(admin_client, centre):
    release = make_release()
    response = admin_client.post(reverse("admin:waitingroom_release_close", args=[release.pk]))
    assert response.url == reverse("admin:waitingroom_release_change", args=[release.pk])
    release.refresh_from_db()
    assert release.status == Status.CLOSED
    page = admin_client.get(response.url).content.decode()
    assert "Warteraum beendet" in page
    assert reverse("admin:waitingroom_release_close", args=[release.pk]) not in page  # no button now


# --- Tickets --------------------------------------------------------------------------------


def test_tickets_are_found_by_code_and_cannot_be_changed(admin_client, centre):
    release = make_release()
    ticket = queue_join(release_id=release.pk, client_address="192.0.2.1")
    other = queue_join(release_id=release.pk, client_address="192.0.2.2")
    url = reverse("admin:waitingroom_ticket_changelist")
    page = admin_client.get(url, {"q": format_code(ticket.code).lower()}).content.decode()
    assert format_code(ticket.code) in page and format_code(other.code) not in page
    detail = admin_client.get(reverse("admin:waitingroom_ticket_change", args=[ticket.pk])).content.decode()
    assert format_code(ticket.code) in detail and ticket.client not in detail
    assert admin_client.get(reverse("admin:waitingroom_ticket_add")).status_code == 403
    change = admin_client.post(reverse("admin:waitingroom_ticket_change", args=[ticket.pk]), {"place": 1})
    assert change.status_code == 403
    delete = admin_client.post(reverse("admin:waitingroom_ticket_delete", args=[ticket.pk]), {"post": "yes"})
    assert delete.status_code == 403
