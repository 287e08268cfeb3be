from django.apps import AppConfig


class ImpfportalConfig(AppConfig):
    """The project package: site-wide pages, the health check and the demo command."""

    name = "impfportal"
    verbose_name = "Impfportal"
