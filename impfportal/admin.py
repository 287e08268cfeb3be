"""Admin of the hotline API: staff create and revoke clients (the token is shown once), and
read the audit log, which nobody can change."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from impfportal.api.services import api_client_create, api_client_revoke
from impfportal.models import ApiClient, AuditEntry, Scope
from supply.admin.common import ReadOnlyAdmin, badge


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Rechte"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "requests_per_minute"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """New clients get their token on the page after saving, once; it is stored only hashed.
    A client is revoked, never deleted: its audit entries keep naming it."""

    form = ApiClientForm
    list_display = [
        "name",
        "token_prefix_shown",
        "scopes_shown",
        "requests_per_minute",
        "created_at",
        "state",
    ]
    readonly_fields = ["token_prefix_shown", "created_at", "created_by", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "requests_per_minute"]
        return ["name", "token_prefix_shown", "scopes", "requests_per_minute", "created_at", "created_by",
                "revoked_at"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.revoked_at is not None:
            return [*self.readonly_fields, "name", "scopes", "requests_per_minute"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Token beginnt mit"))
    def token_prefix_shown(self, client):
        return f"{client.token_prefix}…"

    @admin.display(description=_("Rechte"))
    def scopes_shown(self, client):
        return ", ".join(client.scopes)

    @admin.display(description=_("Status"))
    def state(self, client):
        if client.revoked_at is not None:
            return badge(
                _("widerrufen am {date}").format(date=date_format(client.revoked_at, "d.m.Y")), "bad"
            )
        return badge(_("aktiv"), "good")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        client, token = api_client_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            requests_per_minute=form.cleaned_data["requests_per_minute"],
            created_by=request.user,
        )
        obj.pk = client.pk
        request._new_api_token = token

    def response_add(self, request, obj, post_url_continue=None):
        """The token, once, on its own page (not in a message: those travel in a cookie)."""
        return TemplateResponse(
            request,
            "admin/impfportal/apiclient/token.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Token für {name}").format(name=obj.name),
                "client": ApiClient.objects.get(pk=obj.pk),
                "token": request._new_api_token,
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Ausgewählte Zugänge widerrufen"))
    def revoke(self, request, queryset):
        count = 0
        for client in queryset.filter(revoked_at__isnull=True):
            api_client_revoke(client=client)
            count += 1
        self.message_user(
            request, _("{count} Zugang/Zugänge widerrufen.").format(count=count), messages.SUCCESS
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Every write through the hotline API. Read-only here, and in the database (a trigger)."""

    list_display = ["time", "client", "agent", "action", "object_type", "object_id", "status_code", "problem"]
    list_filter = ["client", "action", "status_code"]
    search_fields = ["agent", "object_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["client"]

    @admin.display(description=_("Zeit"), ordering="created_at")
    def time(self, entry):
        return date_format(timezone.localtime(entry.created_at), "d.m.Y H:i:s")
