import pytest
from django.core.management import call_command

from centres.models import Centre


@pytest.mark.django_db
def test_demo_setup_twice_keeps_data_and_the_printed_login_works(client, settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path  # the password file goes to tmp_path/var/
    call_command("demo", "--no-serve")
    call_command("demo", "--no-serve")
    assert Centre.objects.count() == 13
    password = (tmp_path / "var" / "demo-admin-password.txt").read_text().strip()
    assert client.login(username="admin", password=password)
    assert client.get("/admin/centres/centre/").status_code == 200
