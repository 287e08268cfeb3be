"""The public booking pages, inside impfportal/urls.py's i18n_patterns (German slugs)."""

from django.urls import path

from booking import views

app_name = "booking"

urlpatterns = [
    path("freie-termine/", views.overview, name="overview"),
    path("termin/", views.start, name="start"),
    path("termin/impfzentrum/", views.centres, name="centres"),
    path("termin/impfzentrum/<str:centre_code>/", views.centre_days, name="centre"),
    path(
        "termin/impfzentrum/<str:centre_code>/<str:day>/<str:vaccine_code>/",
        views.centre_times,
        name="times",
    ),
    path("termin/reservierung/", views.hold, name="hold"),
    path("termin/reservierung/verlaengern/", views.hold_extend_view, name="hold_extend"),
    path("termin/reservierung/zweittermin/", views.hold_second, name="hold_second"),
    path("termin/reservierung/aufheben/", views.hold_release_view, name="hold_release"),
    path("termin/angaben/", views.details, name="details"),
    path("termin/pruefen/", views.summary, name="summary"),
    path("termin/bestaetigung/", views.confirmation, name="confirmation"),
    path("termin/verwalten/", views.manage, name="manage"),
    path("termin/verwalten/buchung/", views.manage_booking, name="manage_booking"),
    path("termin/verwalten/zweittermin/", views.manage_move, name="manage_move"),
    path("termin/verwalten/stornieren/", views.manage_cancel, name="manage_cancel"),
    path("registrieren/", views.register, name="register"),
    path("registrieren/fertig/", views.registered, name="registered"),
]
