"""Reads of the supply app."""

from dataclasses import dataclass
from datetime import date

from supply.models import Delivery, DeliveryUpload


@dataclass(frozen=True)
class RowChange:
    """One delivery as the file would leave it, with what it is now (old_* None/"" if new)."""

    centre: str
    vaccine: str
    date: date
    old_doses: int | None
    old_status: str
    new_doses: int
    new_status: str
    delivery_id: int | None = None


@dataclass(frozen=True)
class UploadDiff:
    new: list[RowChange]
    changed: list[RowChange]
    withdrawn: list[RowChange]
    unchanged: int

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed or self.withdrawn)

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "withdrawn": len(self.withdrawn),
            "unchanged": self.unchanged,
        }


# --- The difference between a delivery file and the database ---------------------------------


def upload_diff(*, upload: DeliveryUpload) -> UploadDiff:
    """What applying `upload` would change now: new, changed and withdrawn rows, unchanged count."""
    return diff_rows(
        rows=upload.rows,
        scope=[tuple(pair) for pair in upload.summary.get("scope", [])],
        date_from=upload.date_from,
        date_to=upload.date_to,
    )


def diff_rows(
    *, rows: list[dict], scope, date_from: date | None, date_to: date | None, lock: bool = False
) -> UploadDiff:
    """Compare the file's rows with the deliveries in its scope: its (centre, vaccine) pairs and date range.

    Withdrawn are deliveries in the scope, not cancelled, that the file no longer contains.
    With `lock`, the deliveries in the scope are locked (FOR UPDATE) in id order.
    """
    scope = {tuple(pair) for pair in scope}
    existing: dict[tuple[str, str, date], dict] = {}
    if scope and date_from and date_to:
        queryset = Delivery.objects.filter(
            date__range=(date_from, date_to),
            centre__code__in={centre for centre, _vaccine in scope},
            vaccine__code__in={vaccine for _centre, vaccine in scope},
        ).order_by("id")
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        for record in queryset.values("id", "centre__code", "vaccine__code", "date", "doses", "status"):
            if (record["centre__code"], record["vaccine__code"]) in scope:
                existing[record["centre__code"], record["vaccine__code"], record["date"]] = record
    new, changed, withdrawn, unchanged = [], [], [], 0
    for row in rows:
        day = date.fromisoformat(row["date"])
        old = existing.pop((row["centre"], row["vaccine"], day), None)
        if old is None:
            new.append(RowChange(row["centre"], row["vaccine"], day, None, "", row["doses"], row["status"]))
        elif (old["doses"], old["status"]) == (row["doses"], row["status"]):
            unchanged += 1
        else:
            changed.append(
                RowChange(
                    row["centre"],
                    row["vaccine"],
                    day,
                    old["doses"],
                    old["status"],
                    row["doses"],
                    row["status"],
                    delivery_id=old["id"],
                )
            )
    for (centre, vaccine, day), old in sorted(existing.items()):
        if old["status"] != Delivery.Status.CANCELLED:
            withdrawn.append(
                RowChange(
                    centre,
                    vaccine,
                    day,
                    old["doses"],
                    old["status"],
                    old["doses"],
                    Delivery.Status.CANCELLED,
                    delivery_id=old["id"],
                )
            )
    withdrawn.sort(key=lambda change: (change.date, change.centre, change.vaccine))
    return UploadDiff(new=new, changed=changed, withdrawn=withdrawn, unchanged=unchanged)
