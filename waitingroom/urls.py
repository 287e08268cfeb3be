"""The waiting room's pages, inside impfportal/urls.py's i18n_patterns (German slugs)."""

from django.urls import path

from waitingroom import views

app_name = "waitingroom"

urlpatterns = [
    path("warteraum/", views.room, name="room"),
    path("warteraum/anstellen/", views.join, name="join"),
    path("warteraum/wiederherstellen/", views.restore, name="restore"),
    path("warteraum/einlass/", views.enter, name="enter"),
    path("warteraum/fragen/", views.faq, name="faq"),
]
