from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingroomConfig(AppConfig):
    name = "waitingroom"
    verbose_name = _("Warteraum und Freigaben")

    def ready(self):
        from booking.signals import booking_confirmed
        from waitingroom.services import booking_confirmed_receiver

        booking_confirmed.connect(booking_confirmed_receiver, dispatch_uid="waitingroom.admission_use")
