from django.urls import path

from booking.api import views

urlpatterns = [
    path("availability", views.AvailabilityView.as_view(), name="availability"),
    path("registrations", views.RegistrationsView.as_view(), name="registrations"),
    path("registrations/<str:code>", views.RegistrationView.as_view(), name="registration"),
    path("holds", views.HoldsView.as_view(), name="holds"),
    path("holds/<uuid:token>", views.HoldView.as_view(), name="hold"),
    path("holds/<uuid:token>/extend", views.HoldExtendView.as_view(), name="hold_extend"),
    path("bookings", views.BookingsView.as_view(), name="bookings"),
    path("bookings/<str:code>", views.BookingView.as_view(), name="booking"),
    path(
        "bookings/<str:code>/second-dose-options",
        views.SecondDoseOptionsView.as_view(),
        name="booking_second_dose_options",
    ),
]
