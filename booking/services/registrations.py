"""Registering by phone or online: the code lets the person book online later without
entering their data again."""

from django.db import IntegrityError, transaction

from booking.codes import clean_code, identity, new_code
from booking.exceptions import RegistrationNotFound
from booking.models import Person, PriorityGroup, Registration
from booking.services.bookings import PersonData


@transaction.atomic(durable=True)
def registration_create(
    *, person: PersonData, channel: str, agent: str = "", declared_group: int | None = None
) -> Registration:
    """Register a person; returns the registration with its code."""
    row = Person.objects.create(
        first_name=person.first_name.strip(),
        last_name=person.last_name.strip(),
        birth_date=person.birth_date,
        email=person.email.strip(),
        phone=person.phone.strip(),
        postcode=person.postcode,
        identity=identity(person.first_name, person.last_name, person.birth_date),
    )
    group = PriorityGroup.objects.filter(number=declared_group).first() if declared_group else None
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return Registration.objects.create(
                    code=new_code(), person=row, channel=channel, agent=agent, priority_group=group
                )
        except IntegrityError:  # a code drawn twice: 1 in 10^13, draw again
            continue
    raise RuntimeError("could not draw a free registration code")


def registration_find(*, code: str, birth_date) -> Registration:
    """The registration with this code and birth date. Raises RegistrationNotFound."""
    registration = (
        Registration.objects.select_related("person", "priority_group")
        .filter(code=clean_code(code), person__birth_date=birth_date)
        .first()
    )
    if registration is None:
        raise RegistrationNotFound()
    return registration
