"""The hotline API's own records: its clients and their tokens, the per-minute request counts
that throttle them, the stored responses that make writes idempotent, and the audit log.

They live in the project package because every app's `api.py` shares them (impfportal/api/).
"""

import hashlib

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a client's token allows. Reads without personal data, and each kind of write, apart."""

    AVAILABILITY = "availability", _("Zentren, freie Termine und Freigaben lesen")
    REGISTRATIONS = "registrations", _("Registrierungen anlegen und suchen")
    BOOKINGS = "bookings", _("Reservieren, buchen, Buchungen lesen, verschieben und stornieren")


def token_digest(token: str) -> str:
    """The stored form of a token. A token is 256 random bits, so a plain SHA-256 (no salt, no
    slow hash) is as safe as it gets and lets a request find its client with one index lookup."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClient(models.Model):
    """A call-centre system with one token. The token itself is shown once, when it is made."""

    name = models.CharField(_("Name"), max_length=100, unique=True)
    token_prefix = models.CharField(
        _("Token beginnt mit"), max_length=12, editable=False, help_text=_("zum Wiedererkennen")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=20, choices=Scope.choices), verbose_name=_("Rechte"))
    requests_per_minute = models.PositiveIntegerField(
        _("Anfragen je Minute"),
        default=1200,
        help_text=_("Darüber antwortet die Schnittstelle mit 429, bis die Minute um ist."),
    )
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("angelegt von"),
    )
    revoked_at = models.DateTimeField(_("widerrufen"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API-Zugang")
        verbose_name_plural = _("API-Zugänge")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(requests_per_minute__gte=1), name="client_rate")]

    def __str__(self):
        return self.name

    # DRF puts the client where a user would be (request.user): it is the one who is signed in.
    is_authenticated = True
    is_anonymous = False

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ApiUsage(models.Model):
    """Requests of one client in one minute: a counter every web process shares (throttling)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "minute"], name="usage_once_a_minute")]

    def __str__(self):
        return f"{self.client_id} {self.minute:%H:%M}: {self.count}"


class IdempotencyRecord(models.Model):
    """The response to a write sent with an `Idempotency-Key`, kept for 24 hours so that a retry
    gets the same answer instead of doing the write again (DESIGN invariant 10)."""

    class State(models.TextChoices):
        RUNNING = "running", _("läuft")
        DONE = "done", _("beantwortet")

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path, query and body: the same key for another request is refused.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices)
    # A request that died mid-way leaves a running record behind; after this it may be retried.
    locked_until = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    content = models.BinaryField(null=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_once")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.client_id} {self.key}"


class AuditEntry(models.Model):
    """One write through the hotline API, whatever its outcome. Rows can be added, never changed
    or deleted: a database trigger refuses UPDATE and DELETE (migration 0002)."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, related_name="+", verbose_name=_("API-Zugang")
    )
    agent = models.CharField(_("Mitarbeiter/in"), max_length=64)
    action = models.CharField(_("Aktion"), max_length=50)
    object_type = models.CharField(_("Objektart"), max_length=30, blank=True)
    object_id = models.CharField(_("Objekt"), max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP-Status"))
    problem = models.CharField(_("Fehlercode"), max_length=50, blank=True)
    idempotency_key = models.CharField(_("Idempotency-Key"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("Zeit"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("Protokolleintrag")
        verbose_name_plural = _("Protokoll der Hotline-Schnittstelle")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.client_id} {self.agent} {self.action}"
