"""The priority groups of the Coronavirus-Impfverordnung of 2021-03-10 (booking/data/
priority_groups_coronaimpfv_2021-03.csv), in plain German for the eligibility check.

Written out here so that the migration gives the same result whatever happens to the file.
The opening dates are those of the federal timeline (prioritisation lifted on 2021-06-07);
staff change them in the admin, as Saxony did when a group opened.
"""

from datetime import date

from django.db import migrations

GROUPS = [
    (
        1,
        "Höchste Priorität",
        80,
        date(2020, 12, 27),
        "Bewohnerinnen, Bewohner und Beschäftigte von Pflegeheimen und ambulanten Pflegediensten; "
        "Beschäftigte mit sehr hohem Ansteckungsrisiko (Intensivstation, Notaufnahme, Rettungsdienst, "
        "Palliativversorgung); Beschäftigte, die Menschen mit sehr hohem Risiko behandeln "
        "(Onkologie, Transplantationsmedizin); Beschäftigte der Impfzentren.",
    ),
    (
        2,
        "Hohe Priorität",
        70,
        date(2021, 3, 8),
        "Menschen mit Trisomie 21, nach Organtransplantation, mit Demenz oder geistiger Behinderung, "
        "mit Krebs in Behandlung, schweren Lungenerkrankungen, Diabetes mit Komplikationen, "
        "Leberzirrhose, chronischer Nierenerkrankung oder starkem Übergewicht (BMI über 40); "
        "bis zu zwei enge Kontaktpersonen von Pflegebedürftigen und Schwangeren; Beschäftigte in "
        "Kitas, Grund- und Förderschulen, im Gesundheitsamt, in der Polizei mit hohem Risiko.",
    ),
    (
        3,
        "Erhöhte Priorität",
        60,
        date(2021, 5, 3),
        "Menschen mit Krebs in Remission, Immunschwäche, Herzerkrankungen, Bluthochdruck, Asthma, "
        "Diabetes ohne Komplikationen oder Übergewicht (BMI über 30); Beschäftigte in kritischer "
        "Infrastruktur, im Lebensmittelhandel, in Schulen und in der Kinder- und Jugendhilfe; "
        "Wahlhelferinnen und Wahlhelfer.",
    ),
    (4, "Alle ab 16 Jahren", 16, date(2021, 6, 7), ""),
]


def create(apps, schema_editor):
    PriorityGroup = apps.get_model("booking", "PriorityGroup")
    for number, name, min_age, open_from, declaration in GROUPS:
        PriorityGroup.objects.update_or_create(
            number=number,
            defaults={"name": name, "min_age": min_age, "open_from": open_from, "declaration": declaration},
        )


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
