"""The confirmation e-mail, with both appointments as an iCalendar file (RFC 5545)."""

from datetime import UTC, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking.codes import format_code
from booking.models import Booking


def booking_confirmation_send(*, booking_id: int) -> bool:
    """Send the booking's confirmation (again, after a change) if the person gave an e-mail
    address. Called by a task after the booking committed (DESIGN invariant 12)."""
    booking = Booking.objects.select_related(
        "person", "first__centre", "first__vaccine", "second__centre"
    ).get(pk=booking_id)
    if not booking.person.email:
        return False
    with translation.override(booking.language):
        context = {
            "booking": booking,
            "code": format_code(booking.code),
            "appointments": appointments(booking),
            "cancelled": booking.status == Booking.Status.CANCELLED,
        }
        message = EmailMessage(
            subject=_("Ihr Impftermin – Buchungscode {code}").format(code=format_code(booking.code)),
            body=render_to_string("booking/email/confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[booking.person.email],
        )
        message.attach("impftermine.ics", calendar(booking), "text/calendar; charset=utf-8; method=PUBLISH")
    message.send()
    return True


def appointments(booking: Booking) -> list[tuple[str, object]]:
    """(label, appointment) for each booked dose, in order."""
    result = [(_("1. Impfung") if booking.second_id else _("Impfung"), booking.first)]
    if booking.second_id:
        result.append((_("2. Impfung"), booking.second))
    return result


def calendar(booking: Booking) -> str:
    """Both appointments as VEVENTs; times in UTC, which every calendar converts to local."""
    centre = booking.first.centre
    location = f"{centre.name}, {centre.venue}, {centre.street}, {centre.postcode} {centre.town}"
    stamp = _utc(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//DRK Sachsen//Impfportal//DE",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for number, (label, appointment) in enumerate(appointments(booking), start=1):
        start = appointment.starts_at
        end = start + timedelta(minutes=max(centre.minutes_per_vaccination, 15))
        lines += [
            "BEGIN:VEVENT",
            f"UID:{booking.code}-{number}@impfportal",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(start)}",
            f"DTEND:{_utc(end)}",
            f"SUMMARY:{_text(_('Corona-Schutzimpfung') + ' – ' + str(label))}",
            f"LOCATION:{_text(location)}",
            "DESCRIPTION:"
            + _text(
                _("Buchungscode {code}. Bitte bringen Sie Ihren Personalausweis oder Reisepass mit.").format(
                    code=format_code(booking.code)
                )
            ),
            "STATUS:" + ("CANCELLED" if booking.status == Booking.Status.CANCELLED else "CONFIRMED"),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)
