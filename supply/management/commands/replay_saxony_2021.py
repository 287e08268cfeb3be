"""python manage.py replay_saxony_2021 [--json] [options]: the 2021 deliveries replayed with the planner."""

import json
from datetime import date

from django.core.management.base import BaseCommand

from supply.replay import KEYS, ReplayOptions, replay

HEADINGS = {
    "delivered": "delivered",
    "first_offered": "1st offered",
    "second_offered": "2nd offered",
    "shelf_doses": "on shelf",
    "shelf_days": "shelf days",
    "second_short": "2nd short",
    "vial_leftover": "vial rest",
    "capacity_limited": "capacity",
    "given_in_saxony": "given SN",
}


class Command(BaseCommand):
    help = "Replay Saxony's 2021 deliveries day by day with the planner and compare with what happened."

    def add_arguments(self, parser):
        defaults = ReplayOptions()
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--start", type=date.fromisoformat, default=defaults.start)
        parser.add_argument("--end", type=date.fromisoformat, default=defaults.end)
        parser.add_argument("--forecast-weeks", type=int, default=defaults.forecast_weeks)
        parser.add_argument("--error-percent", type=int, default=defaults.error_percent)
        parser.add_argument("--forecast-share", type=int, default=defaults.forecast_share_percent)
        parser.add_argument("--release-days", type=int, default=defaults.release_days)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--capacity-percent",
            type=int,
            default=defaults.capacity_percent,
            help="scale the centres' capacity",
        )

    def handle(self, *args, **options):
        settings = ReplayOptions(
            start=options["start"],
            end=options["end"],
            forecast_weeks=options["forecast_weeks"],
            error_percent=options["error_percent"],
            forecast_share_percent=options["forecast_share"],
            release_days=options["release_days"],
            seed=options["seed"],
            capacity_percent=options["capacity_percent"],
        )
        progress = None if options["json"] else lambda done, total: self.stderr.write(f"  day {done}/{total}")
        result = replay(settings, progress=progress)
        if options["json"]:
            self.stdout.write(json.dumps({"months": result["months"], "totals": result["totals"]}))
            return
        self.stdout.write(self._table(result))

    def _table(self, result) -> str:
        header = f"{'month':<8}" + "".join(f"{HEADINGS[key]:>12}" for key in KEYS)
        lines = [header, "-" * len(header)]
        for row in [*result["months"], {"month": "total", **result["totals"]}]:
            cells = []
            for key in KEYS:
                value = row[key]
                if isinstance(value, bool):
                    cells.append("yes" if value else "no")
                elif value is None:
                    cells.append("–")
                elif isinstance(value, float):
                    cells.append(f"{value:,.1f}")
                else:
                    cells.append(f"{value:,}")
            lines.append(f"{row['month']:<8}" + "".join(f"{cell:>12}" for cell in cells))
        options = ", ".join(f"{key}={value}" for key, value in result["options"].items())
        lines += ["", f"options: {options}"]
        return "\n".join(lines)
