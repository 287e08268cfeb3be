"""Writes that span the apps: the demo data set."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from centres.services import centres_load

DEMO_ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


def demo_admin_ensure(*, password_file: Path) -> DemoLogin:
    """The demo's superuser; its password is made once and kept in `password_file` (under var/)."""
    password = password_file.read_text().strip() if password_file.exists() else ""
    if not password:
        password = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_ADMIN_USERNAME).first()
    if user is None:
        user_model.objects.create_superuser(DEMO_ADMIN_USERNAME, "admin@impfportal.example", password)
    elif not user.check_password(password) or not user.is_superuser or not user.is_active:
        user.set_password(password)
        user.is_superuser = user.is_staff = user.is_active = True
        user.save(update_fields=["password", "is_superuser", "is_staff", "is_active"])
    return DemoLogin(DEMO_ADMIN_USERNAME, password)


@transaction.atomic
def demo_data_load() -> dict[str, object]:
    """Load the demo data set; running it again changes nothing. Returns what each step did."""
    return {"centres": centres_load()}


def demo_password_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-admin-password.txt"
