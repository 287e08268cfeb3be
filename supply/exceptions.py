"""Domain errors of the supply app, with user-facing (German, translatable) messages."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded file: `row` is the line (CSV/TSV) or sheet row (XLSX), the
    header being row 1; `row` is None and `column` empty for a problem of the whole file."""

    row: int | None
    column: str
    message: str


class SupplyError(Exception):
    """Base of the supply app's domain errors; `message` is safe to show to staff."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


class UploadInvalid(SupplyError):
    """An uploaded delivery file was refused; `errors` lists every problem found, not just the first."""

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        super().__init__("; ".join(_format(error) for error in self.errors))


class UploadNotApplicable(SupplyError):
    """An upload cannot be applied or discarded in its current state (already applied, discarded)."""


class UploadConflict(SupplyError):
    """The deliveries changed concurrently while an upload was being applied; nothing was written."""


class UploadBusy(SupplyError):
    def __init__(self):
        super().__init__(
            _("Gerade wird ein anderer Upload übernommen; bitte in einer Minute erneut versuchen.")
        )


class PlanningBusy(SupplyError):
    def __init__(self):
        super().__init__(
            _("Die Planung dieses Impfzentrums läuft gerade; bitte in einer Minute erneut versuchen.")
        )


def _format(error: RowError) -> str:
    where = []
    if error.row is not None:
        where.append(f"Zeile {error.row}")
    if error.column:
        where.append(f"Spalte {error.column}")
    return f"{', '.join(where)}: {error.message}" if where else error.message
