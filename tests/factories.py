from datetime import time

import factory

from centres.models import Centre, Closure, OpeningHours


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"T{chr(65 + n // 100 % 26)}{n % 100:02d}")
    name = factory.Sequence(lambda n: f"Impfzentrum Test {n}")
    venue = "Stadthalle"
    street = "Hauptstraße 1"
    postcode = "01067"
    town = "Dresden"
    latitude = "51.05089"
    longitude = "13.73832"
    lanes = 4
    minutes_per_vaccination = 5

    @factory.post_generation
    def hours(centre, create, extracted, **kwargs):
        """Mon-Fri 8-18, Sat-Sun 9-17 unless `hours={weekday: [(opens, closes), ...]}` is given."""
        if not create:
            return
        weekly = extracted
        if weekly is None:
            weekly = {day: [(time(8), time(18))] for day in range(5)} | {
                day: [(time(9), time(17))] for day in (5, 6)
            }
        OpeningHours.objects.bulk_create(
            OpeningHours(centre=centre, weekday=day, opens=opens, closes=closes)
            for day, intervals in weekly.items()
            for opens, closes in intervals
        )


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    centre = factory.SubFactory(CentreFactory)
    reason = "Feiertag"


# A caller's data as the hotline API takes it ("person" in registrations and bookings).
CALLER = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "birth_date": "1938-05-17",
    "postcode": "01067",
    "phone": "0351 1234567",
}
