"""Writes about centres."""

import csv
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from centres.models import Centre, OpeningHours

SAXONY_CENTRES_CSV = Path(__file__).resolve().parent / "data" / "saxony_centres_2021.csv"
WEEKDAYS = range(0, 5)
WEEKEND = range(5, 7)


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


def _hours(text: str) -> tuple[time, time]:
    opens, closes = text.split("-")
    return time.fromisoformat(opens), time.fromisoformat(closes)


@transaction.atomic
def centres_load(*, path: Path = SAXONY_CENTRES_CSV) -> LoadResult:
    """Create or update the centres and their weekly hours from the project's CSV; idempotent."""
    created = updated = unchanged = 0
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        fields = {
            "name": row["name"],
            "venue": row["venue"],
            "street": row["street"],
            "postcode": row["postcode"],
            "town": row["town"],
            "latitude": Decimal(row["latitude"]),
            "longitude": Decimal(row["longitude"]),
            "lanes": int(row["lanes"]),
            "minutes_per_vaccination": int(row["minutes_per_vaccination"]),
            "notes": row["notes"],
        }
        hours = {(day, *_hours(row["weekday_hours"])) for day in WEEKDAYS}
        hours |= {(day, *_hours(row["weekend_hours"])) for day in WEEKEND}

        centre = Centre.objects.filter(code=row["code"]).first()
        if centre is None:
            centre = Centre.objects.create(code=row["code"], **fields)
            created += 1
        else:
            changed = [name for name, value in fields.items() if getattr(centre, name) != value]
            existing = set(centre.opening_hours.values_list("weekday", "opens", "closes"))
            if not changed and existing == hours:
                unchanged += 1
                continue
            for name in changed:
                setattr(centre, name, fields[name])
            if changed:
                centre.save(update_fields=changed)
            centre.opening_hours.all().delete()
            updated += 1
        OpeningHours.objects.bulk_create(
            OpeningHours(centre=centre, weekday=day, opens=opens, closes=closes)
            for day, opens, closes in hours
        )
    return LoadResult(created=created, updated=updated, unchanged=unchanged)
