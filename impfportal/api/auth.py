"""Who calls the hotline API and what they may do: a bearer token per client, scopes per view,
a per-client request budget shared by every web process."""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from impfportal.api.services import usage_count
from impfportal.models import ApiClient, token_digest


class TokenRevoked(exceptions.AuthenticationFailed):
    default_code = "token_revoked"


class ClientTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; the token's SHA-256 finds the client."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Der Authorization-Header muss „Bearer <Token>“ lauten, ohne Leerzeichen im Token.")
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Dieses Token ist ungültig.")) from None
        client = ApiClient.objects.filter(token_hash=token_digest(token)).first()
        if client is None:
            raise exceptions.AuthenticationFailed(_("Dieses Token ist ungültig."))
        if client.revoked_at is not None:
            raise TokenRevoked(_("Dieses Token wurde widerrufen. Bitte beim DRK ein neues anfordern."))
        return client, token

    def authenticate_header(self, request):
        return 'Bearer realm="impfportal"'


class HasScope(BasePermission):
    """The client's token has the view's `required_scope` (per method where that is a dict)."""

    code = "scope_missing"

    def has_permission(self, request, view):
        client = request.user
        if not isinstance(client, ApiClient):
            return False  # DRF answers 401: no (valid) token at all
        scope = view.required_scope
        if isinstance(scope, dict):
            scope = scope[request.method]
        if scope is None or client.has_scope(scope):
            return True
        self.message = _("Dieser Zugang hat nicht das Recht „{scope}“.").format(scope=scope)
        return False


class ClientRateThrottle(BaseThrottle):
    """At most `requests_per_minute` requests per client and calendar minute, counted in
    PostgreSQL so that every web container shares the budget."""

    def allow_request(self, request, view):
        client = request.user
        if not isinstance(client, ApiClient):
            return True
        count, self.seconds_left = usage_count(client_id=client.pk)
        return count <= client.requests_per_minute

    def wait(self):
        return self.seconds_left
