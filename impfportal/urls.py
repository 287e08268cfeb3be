from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from booking.api.public import PublicAvailabilityView
from impfportal import views
from waitingroom import views as waitingroom_views

admin.site.site_header = _("Impfportal Sachsen – Verwaltung")
admin.site.site_title = _("Impfportal Sachsen")
admin.site.index_title = _("Verwaltung")

# The shared queue state, polled by every waiting browser, and the live overview's JSON: first,
# so that resolving them does not try every localized pattern before (a fifth of a poll's time
# in Django, benchmarks).
urlpatterns = [
    path("warteraum/<int:release_id>/stand.json", waitingroom_views.state_json, name="waitingroom_state"),
    path("api/v1/public/availability", PublicAvailabilityView.as_view(), name="public_availability"),
]
# Public pages in German at /..., in English at /en/... .
urlpatterns += i18n_patterns(
    path("", views.landing, name="landing"),
    path("impressum/", TemplateView.as_view(template_name="pages/imprint.html"), name="imprint"),
    path("datenschutz/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
    path(
        "barrierefreiheit/",
        TemplateView.as_view(template_name="pages/accessibility.html"),
        name="accessibility",
    ),
    path("", include("booking.urls")),
    path("", include("waitingroom.urls")),
    prefix_default_language=False,
)
urlpatterns += [
    path("admin/", admin.site.urls),
    path("", include("impfportal.api.urls")),
]
