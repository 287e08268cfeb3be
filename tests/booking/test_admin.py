"""Staff open priority groups in the admin and look up bookings by code."""

import pytest
from django.urls import reverse

from booking.codes import format_code
from booking.models import PriorityGroup
from booking.services.bookings import booking_confirm
from booking.services.holds import hold_create_next
from tests.booking.conftest import person, tomorrow

pytestmark = pytest.mark.django_db


def test_staff_open_a_priority_group(admin_client):
    group = PriorityGroup.objects.get(number=3)
    page = admin_client.get(reverse("admin:booking_prioritygroup_changelist")).content.decode()
    assert "Erhöhte Priorität" in page and "plan-badge-good" in page
    response = admin_client.post(
        reverse("admin:booking_prioritygroup_change", args=[group.pk]),
        {"number": 3, "name": group.name, "min_age": 60, "open_from": "", "declaration": group.declaration},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.open_from is None
    assert (
        "noch nicht offen"
        in admin_client.get(reverse("admin:booking_prioritygroup_changelist")).content.decode()
    )


def test_a_booking_is_found_by_its_code_however_typed(admin_client, centre, comirnaty):
    hold = hold_create_next(centre_id=centre.id, vaccine_id=comirnaty.id, day=tomorrow(), owner="a")
    booking = booking_confirm(token=hold.token, person=person())
    url = reverse("admin:booking_booking_changelist")
    page = admin_client.get(url, {"q": format_code(booking.code).lower()}).content.decode()
    assert format_code(booking.code) in page and "Impfzentrum Dresden" in page
    detail = admin_client.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert "Erika Mustermann, 17.05.1938" in detail
