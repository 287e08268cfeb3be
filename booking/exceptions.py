"""Domain errors of the booking app. `message` is safe to show to the citizen (German,
translatable); `code` is stable for the hotline API's error bodies."""

from django.utils.translation import gettext_lazy as _


class BookingError(Exception):
    code = "booking_error"
    default_message = _("Das hat leider nicht geklappt. Bitte versuchen Sie es noch einmal.")

    def __init__(self, message=None):
        self.message = str(message or self.default_message)
        super().__init__(self.message)


class SlotTaken(BookingError):
    code = "slot_taken"
    default_message = _(
        "Dieser Termin wurde gerade von jemand anderem reserviert. Bitte wählen Sie einen anderen."
    )


class NoFreePair(BookingError):
    code = "no_free_pair"
    default_message = _("Für diese Auswahl ist gerade kein Termin mehr frei.")


class HoldNotFound(BookingError):
    code = "hold_not_found"
    default_message = _("Diese Reservierung gibt es nicht (mehr). Bitte wählen Sie einen Termin neu.")


class HoldExpired(BookingError):
    code = "hold_expired"
    default_message = _(
        "Ihre Reservierung ist abgelaufen, der Termin ist wieder frei. Bitte wählen Sie einen Termin neu."
    )


class HoldNotExtendable(BookingError):
    code = "hold_not_extendable"
    default_message = _("Eine Reservierung kann nur einmal verlängert werden.")


class NotEligible(BookingError):
    code = "not_eligible"


class AlreadyBooked(BookingError):
    """The person has an active booking already; only its masked code is told."""

    code = "already_booked"

    def __init__(self, masked_code: str):
        self.masked_code = masked_code
        super().__init__(
            _(
                "Für diese Person gibt es bereits eine Buchung (Buchungscode {code}). "
                "Unter „Termin verwalten“ können Sie sie ansehen oder stornieren."
            ).format(code=masked_code)
        )


class BookingNotFound(BookingError):
    code = "booking_not_found"
    default_message = _(
        "Zu diesem Buchungscode und Geburtsdatum haben wir keine Buchung gefunden. "
        "Bitte prüfen Sie beide Angaben."
    )


class BookingCancelled(BookingError):
    code = "booking_cancelled"
    default_message = _("Diese Buchung ist storniert.")


class MoveNotPossible(BookingError):
    code = "move_not_possible"
    default_message = _(
        "Dieser Zweittermin ist nicht mehr frei oder liegt nicht im erlaubten Abstand. "
        "Bitte wählen Sie einen anderen."
    )


class RegistrationNotFound(BookingError):
    code = "registration_not_found"
    default_message = _("Diesen Registrierungscode kennen wir nicht, oder das Geburtsdatum passt nicht dazu.")
