"""Schedule the hourly deletion of long-dead hold rows (booking.tasks.holds_purge)."""

from django.db import migrations

NAME = "booking: delete holds that ended a day ago"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "booking.tasks.holds_purge", "schedule_type": "H", "repeats": -1}
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0002_priority_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
