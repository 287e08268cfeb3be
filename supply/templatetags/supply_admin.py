"""Template tags of the supply admin pages."""

from django import template

from supply.admin.common import open_alert_count

register = template.Library()


@register.simple_tag
def open_shortfall_alerts() -> int:
    """Open shortfall alerts, for the admin's start page: booked doses without cover are urgent."""
    return open_alert_count()
