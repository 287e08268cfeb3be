"""The live overview's public page (and its JSON twin in booking/api/public.py).

Everyone who looks within one second gets the same bytes: a page is rendered once per overview,
language and age asked for, and kept in this process with the overview it shows. No session,
no cookie, so that browsers and proxies may cache it for that second too.
"""

import threading

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from booking.services.overview import Overview, overview_current
from centres.geo import SAXONY_OUTLINE, map_projection

MAX_AGE = 120
MAP_WIDTH = 600

_pages: dict[tuple, bytes] = {}
_pages_lock = threading.Lock()


def parse_age(raw: str | None) -> tuple[int | None, str]:
    """The age asked for ("alter"), or None and, for something that is no age, why."""
    if raw is None or not raw.strip():
        return None, ""
    text = raw.strip()
    if not text.isdecimal() or not 0 <= int(text) <= MAX_AGE:
        return None, _("Bitte geben Sie Ihr Alter in Jahren an, als Zahl von 0 bis {max}.").format(
            max=MAX_AGE
        )
    return int(text), ""


def overview(request):
    age, age_error = parse_age(request.GET.get("alter"))
    current = overview_current()
    key = (get_language(), request.path, age, age_error, current.version)
    with _pages_lock:
        page = _pages.get(key)
    if page is None:
        page = render_to_string(
            "booking/overview.html", overview_context(current, age, age_error), request=request
        ).encode()
        with _pages_lock:
            if any(k[-1] != current.version for k in _pages):
                _pages.clear()  # a newer overview: the pages of the old one are of no use
            if len(_pages) < 1000:
                _pages[key] = page
    response = HttpResponse(page)
    response["Cache-Control"] = f"public, max-age={settings.OVERVIEW_REFRESH_SECONDS}"
    return response


def overview_context(current: Overview, age: int | None, age_error: str = "") -> dict:
    numbers = current.for_age(age)
    return {
        "overview": current,
        "numbers": numbers,
        "age": age,
        "age_error": age_error,
        "by_age": current.by_age_only_from(age),
        "max_age": MAX_AGE,
        "weeks": max(1, settings.OVERVIEW_DAYS // 7),
        "map": overview_map(numbers["centres"]),
        "days": [{"date": day, "free": numbers["by_day"][day.isoformat()]} for day in current.days],
        # Each centre with free pairs, and the days it has them on.
        "centre_days": [
            {
                "name": centre["name"],
                "total": centre["total"],
                "days": [
                    {"date": day, "free": centre["by_day"][day.isoformat()]}
                    for day in current.days
                    if centre["by_day"][day.isoformat()]
                ],
            }
            for centre in numbers["centres"]
            if centre["total"]
        ],
    }


def overview_map(centres: list[dict]) -> dict:
    """Saxony's outline and each centre's marker, drawn on the server (no tiles, no script)."""
    project, height = map_projection(SAXONY_OUTLINE, MAP_WIDTH)
    points = [project(lat, lon) for lon, lat in SAXONY_OUTLINE]
    outline = "M" + " L".join(f"{x},{y}" for x, y in points) + " Z"
    markers = []
    for centre in centres:
        x, y = project(centre["latitude"], centre["longitude"])
        markers.append({**centre, "x": x, "y": y, "label_y": round(y + 5, 1), "name_y": round(y + 30, 1)})
    return {"width": MAP_WIDTH, "height": height, "outline": outline, "markers": markers}
