from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImpfportalConfig(AppConfig):
    """The project package: site-wide pages, the health check, the demo command, and the hotline
    API's shared parts (its models are the only ones here, hence the admin section's name)."""

    name = "impfportal"
    verbose_name = _("Hotline-Schnittstelle")
