"""The audit log is append-only in the database itself: UPDATE and DELETE on its rows fail,
whoever asks (the admin, a shell, a bug). Erasing the whole table needs TRUNCATE, which only
the database owner can, and which the tests use to empty tables."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION impfportal_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER impfportal_audit_append_only BEFORE UPDATE OR DELETE ON impfportal_auditentry
    FOR EACH ROW EXECUTE FUNCTION impfportal_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER impfportal_audit_append_only ON impfportal_auditentry;
DROP FUNCTION impfportal_audit_append_only();
"""

NAME = "hotline API: delete old request counts and stored responses"


def schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "impfportal.tasks.api_records_purge", "schedule_type": "H", "repeats": -1}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("impfportal", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(schedule, unschedule),
    ]
