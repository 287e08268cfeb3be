"""The base of every hotline API view: the agent header, body limits, domain errors as
problems, idempotent writes and the audit log, so that each app's `api.py` only parses,
calls one service and serialises.
"""

import contextlib
import hashlib
import json
import logging
import re

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from impfportal.api import services
from impfportal.api.problems import Problem, problem_response
from impfportal.api.serializers import field_error
from impfportal.models import ApiClient

logger = logging.getLogger(__name__)

AGENT_HEADER = "X-Agent-Id"
AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}")
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as in a UUID or ULID
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Replay(Exception):
    """The answer to this request was given before: send it again, do nothing."""

    def __init__(self, stored: services.Stored):
        self.stored = stored

    def response(self) -> HttpResponse:
        response = HttpResponse(
            self.stored.content, status=self.stored.status_code, content_type=self.stored.content_type
        )
        response["Idempotent-Replayed"] = "true"
        if self.stored.location:
            response["Location"] = self.stored.location
        return response


class HotlineView(APIView):
    """A view of the hotline API. Subclasses set:

    - `required_scope`: a Scope value, or one per HTTP method;
    - `error_statuses`: domain error classes and the HTTP status each becomes (its `code` and
      German `message` go into the problem document);
    - `audit_actions`: the audit log's name for each write method (`{"POST": "hold.create"}`),
      and in the handler `self.audit_object = (type, id)` once the object is known;
    - `conditional`: GET answers carry an ETag and honour If-None-Match.
    """

    required_scope: str | dict | None = None
    error_statuses: dict[type[Exception], int] = {}
    audit_actions: dict[str, str] = {}
    conditional = False
    # Per request (DRF makes a view instance for each): set before anything can fail.
    agent: str | None = None
    audit_object: tuple[str, str] = ("", "")
    idempotency: tuple[int, str] | None = None
    replayed = False

    def paginated(self, request, items, answer):
        """One page of `items` (a queryset or list), answered as `answer(page)` (a list: a
        function of the whole page, so that it can fetch what the page needs at once). The view
        sets `pagination_class = Pages` so that the schema shows the envelope."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(answer(page))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # token, scope, throttle
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            # 405 before the agent header and the idempotency key: a method the view does not
            # have must claim no key (nor be told that its key was reused) and log nothing.
            raise exceptions.MethodNotAllowed(request.method)
        agent = request.headers.get(AGENT_HEADER, "")
        if not AGENT.fullmatch(agent):
            raise Problem(
                400,
                "agent_missing",
                _(
                    "Jede Anfrage muss im Header {header} die Kennung der Mitarbeiterin oder des "
                    "Mitarbeiters nennen (1–64 Zeichen: Buchstaben, Ziffern, . _ @ : -)."
                ).format(header=AGENT_HEADER),
            )
        self.agent = agent
        if request.method in WRITES:
            self._check_size(request)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is not None:
                self._begin_idempotent(request, key)

    def _check_size(self, request) -> None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            raise Problem(
                413,
                "body_too_large",
                _("Die Anfrage ist zu groß (höchstens {limit} Bytes).").format(
                    limit=settings.API_MAX_BODY_BYTES
                ),
            )

    def _begin_idempotent(self, request, key: str) -> None:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise Problem(
                400,
                "idempotency_key_invalid",
                _("Der Idempotency-Key muss 1–255 sichtbare ASCII-Zeichen lang sein."),
            )
        fingerprint = _fingerprint(request)
        outcome = services.idempotency_begin(client_id=request.user.pk, key=key, fingerprint=fingerprint)
        if isinstance(outcome, services.Claimed):
            self.idempotency = (outcome.record_id, key)
            return
        if outcome is not None and outcome.fingerprint != fingerprint:
            raise Problem(
                422,
                "idempotency_key_reused",
                _(
                    "Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet. "
                    "Bitte für jede neue Anfrage einen neuen Schlüssel erzeugen."
                ),
            )
        if outcome is None or outcome.status_code is None:
            raise Problem(
                409,
                "idempotency_in_progress",
                _("Eine Anfrage mit diesem Idempotency-Key läuft noch. Bitte gleich noch einmal senden."),
                **{"Retry-After": "1"},
            )
        raise Replay(outcome)

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            self.replayed = True
            return exc.response()
        status = next((self.error_statuses[c] for c in type(exc).__mro__ if c in self.error_statuses), None)
        if status is not None:
            exc = Problem(status, exc.code, exc.message)
        try:
            return super().handle_exception(exc)
        except Exception:
            logger.exception("hotline API: unhandled error in %s", type(self).__name__)
            return problem_response(
                500,
                "internal_error",
                _("Ein interner Fehler ist aufgetreten. Nichts wurde geändert; bitte erneut versuchen."),
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.conditional and request.method == "GET" and response.status_code == 200:
            response = with_etag(request, response, getattr(self, "etag_source", None))
        # The stored answer and the audit entry in one transaction: one commit, not two.
        with transaction.atomic():
            if self.idempotency is not None:
                self._store(response)
            if request.method in WRITES and self.agent and not self.replayed:
                self._audit(request, response)
        return response

    def _store(self, response) -> None:
        record_id, _key = self.idempotency
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        if response.status_code >= 500:
            services.idempotency_abandon(record_id=record_id)
        else:
            services.idempotency_finish(
                record_id=record_id,
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                content=response.content,
                location=response.get("Location", ""),
            )

    def _audit(self, request, response) -> None:
        client = request.user
        if not isinstance(client, ApiClient):
            return
        data = getattr(response, "data", None)
        object_type, object_id = self.audit_object
        services.audit_record(
            client_id=client.pk,
            agent=self.agent,
            action=self.audit_actions.get(request.method, f"{type(self).__name__}.{request.method}"),
            object_type=object_type,
            object_id=str(object_id),
            status_code=response.status_code,
            problem=data.get("code", "") if response.status_code >= 400 and isinstance(data, dict) else "",
            idempotency_key=self.idempotency[1] if self.idempotency else "",
        )


def _fingerprint(request) -> str:
    """The request as the key promises it: method, path with query, and body (JSON compared by
    content, so that key order and spacing of a retry do not matter)."""
    body = request._request.body
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), body):
        digest.update(part + b"\0")
    return digest.hexdigest()


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """The page size asked for, at most `max_page_size`. Unlike DRF, a `page_size` that is no
        whole number from 1 up is refused with a field error, not silently replaced by 50."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise field_error(
                self.page_size_query_param,
                _("Bitte eine ganze Zahl ab 1 angeben (höchstens {limit} je Seite).").format(
                    limit=self.max_page_size
                ),
            )
        return min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        """The page as given: DRF would also read "last", and an empty one as the first. The
        paginator refuses anything but a page number that exists (404, "Ungültige Seite.")."""
        return request.query_params.get(self.page_query_param, 1)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


def with_etag(request, response, source: bytes | None = None):
    """An ETag of the body, or a weak one of `source` (what the body means, without such as a
    computation time); a matching `If-None-Match` gets 304 and no body."""
    response.render()
    digest = hashlib.sha256(source if source is not None else response.content).hexdigest()[:32]
    etag = f'W/"{digest}"' if source is not None else f'"{digest}"'
    match = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
    if etag in match or "*" in match:
        response = HttpResponse(status=304)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
