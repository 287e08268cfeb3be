"""Domain errors of the waiting room. `message` is safe to show (German, translatable); `code` is
stable for API error bodies."""

from django.utils.translation import gettext_lazy as _

from booking.exceptions import BookingError


class WaitingRoomError(Exception):
    code = "waitingroom_error"
    default_message = _("Das hat leider nicht geklappt. Bitte versuchen Sie es noch einmal.")

    def __init__(self, message=None):
        self.message = str(message or self.default_message)
        super().__init__(self.message)


class ReleaseInvalid(WaitingRoomError):
    code = "release_invalid"


class QueueClosed(WaitingRoomError):
    code = "queue_closed"
    default_message = _("Diese Warteschlange ist beendet. Sie können sich nicht mehr anstellen.")


class TooManyJoins(WaitingRoomError):
    code = "too_many_joins"
    default_message = _(
        "Von Ihrem Anschluss wurden gerade sehr viele Wartenummern gezogen. Bitte warten Sie eine "
        "Minute und versuchen Sie es dann noch einmal."
    )


class TicketNotFound(WaitingRoomError):
    code = "ticket_not_found"
    default_message = _("Diese Wartenummer kennen wir nicht. Bitte prüfen Sie Ihre Eingabe.")


class NotCalledYet(WaitingRoomError):
    code = "not_called_yet"
    default_message = _("Sie sind noch nicht an der Reihe. Bitte warten Sie auf Ihren Aufruf.")


class AdmissionLapsed(WaitingRoomError):
    code = "admission_lapsed"
    default_message = _(
        "Ihre Zeit zum Buchen ist abgelaufen. Sie können sich erneut am Ende der Warteschlange anstellen."
    )


class AdmissionUsed(BookingError):
    """A BookingError: raised inside the booking's confirm, it refuses the booking."""

    code = "admission_used"
    default_message = _(
        "Mit diesem Einlass wurde bereits ein Termin gebucht. Pro Einlass ist eine Buchung möglich."
    )
