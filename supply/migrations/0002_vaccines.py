"""The four vaccines of 2021 and their age rules (supply/data/vaccine_facts_germany_2021.csv).

The values are written out here rather than read from the file, so that this migration gives
the same result whatever later happens to the file. Staff edit them in the admin.
"""

from datetime import date

from django.db import migrations

VACCINES = [
    # code, name, doses per vial, doses in series, interval min/target/max days
    ("comirnaty", "Comirnaty (BioNTech/Pfizer)", 6, 2, (21, 42, 42)),
    ("moderna", "Spikevax (Moderna)", 10, 2, (28, 42, 42)),
    # EU presentations have 8 or 10 doses per vial; Saxony's centres received 10-dose vials.
    ("astra", "Vaxzevria (AstraZeneca)", 10, 2, (63, 84, 84)),
    ("johnson", "COVID-19 Vaccine Janssen (Johnson & Johnson)", 5, 1, (None, None, None)),
]

AGE_RULES = [
    ("comirnaty", date(2020, 12, 21), 16, None, "EU-Zulassung ab 16 Jahren"),
    ("moderna", date(2021, 1, 6), 18, None, "EU-Zulassung ab 18 Jahren"),
    ("astra", date(2021, 1, 29), 18, 64, "STIKO Januar 2021: nur 18 bis 64 Jahre"),
    ("astra", date(2021, 3, 4), 18, None, "STIKO März 2021: auch ab 65 Jahren"),
    ("astra", date(2021, 3, 31), 60, None, "GMK 30.03.2021: in Impfzentren nur ab 60 Jahren"),
    ("johnson", date(2021, 3, 11), 18, None, "EU-Zulassung ab 18; STIKO ab 10.05.2021: vorzugsweise ab 60"),
]


def create(apps, schema_editor):
    Vaccine = apps.get_model("supply", "Vaccine")
    VaccineAgeRule = apps.get_model("supply", "VaccineAgeRule")
    for code, name, per_vial, series, (minimum, target, maximum) in VACCINES:
        Vaccine.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "doses_per_vial": per_vial,
                "doses_in_series": series,
                "interval_min_days": minimum,
                "interval_target_days": target,
                "interval_max_days": maximum,
            },
        )
    for code, valid_from, min_age, max_age, note in AGE_RULES:
        VaccineAgeRule.objects.update_or_create(
            vaccine=Vaccine.objects.get(code=code),
            valid_from=valid_from,
            defaults={"min_age": min_age, "max_age": max_age, "note": note},
        )


class Migration(migrations.Migration):
    dependencies = [("supply", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
