"""The waiting room's pages. Waiting (the page and the shared JSON) reads no database: the
browser's signed ticket is compared with the process's copy of the queue state (selectors)."""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from waitingroom.exceptions import AdmissionLapsed, AdmissionUsed, NotCalledYet, WaitingRoomError
from waitingroom.forms import RestoreForm
from waitingroom.models import Release
from waitingroom.selectors import gating_release, queue_state, ticket_view, upcoming_release
from waitingroom.services import admission_enter, queue_join, ticket_find
from waitingroom.tokens import (
    ADMISSION_COOKIE,
    TICKET_COOKIE,
    admission_sign,
    ticket_read,
    ticket_sign,
)

TICKET_MAX_AGE = 2 * 24 * 3600  # a ticket outlives a browser restart, not the release


@require_GET
def room(request):
    """Your place (with a ticket), or how to get one."""
    ticket = ticket_read(request.COOKIES.get(TICKET_COOKIE))
    view = ticket_view(ticket) if ticket else None
    if view is None:
        release = gating_release()
        response = render(
            request,
            "waitingroom/join.html",
            {"release": release, "upcoming": None if release else upcoming_release(), "form": RestoreForm()},
        )
    else:
        waiting = view.state.active and not view.called
        poll = settings.WAITINGROOM_POLL_SECONDS if waiting else None
        # Without JavaScript the page reloads itself, unless its reader turned that off (WCAG
        # 2.2.1: a screen reader or magnifier loses its place at every reload).
        refresh = None if request.GET.get("aktualisieren") == "aus" else poll
        response = render(
            request,
            "waitingroom/room.html",
            {
                "view": view,
                "state": view.state,
                "poll": poll,
                "refresh": refresh,
                "enter_minutes": settings.WAITINGROOM_ENTER_MINUTES,
                "Status": Release.Status,
            },
        )
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
def join(request):
    release = gating_release()
    if release is None:
        messages.info(request, _("Gerade ist kein Warteraum nötig: Sie können direkt buchen."))
        return redirect("booking:start")
    try:
        ticket = queue_join(release_id=release.release_id, client_address=client_address(request))
    except WaitingRoomError as error:
        return _problem(request, error, status=429 if error.code == "too_many_joins" else 409)
    return _with_ticket(redirect("waitingroom:room"), ticket)


@require_POST
def restore(request):
    """Take one's place back on this browser from the code shown on the waiting page."""
    release = gating_release()
    form = RestoreForm(request.POST)
    if release is not None and form.is_valid():
        try:
            ticket = ticket_find(release_id=release.release_id, code=form.cleaned_data["code"])
        except WaitingRoomError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, _("Willkommen zurück: Sie haben Ihren Platz wieder."))
            return _with_ticket(redirect("waitingroom:room"), ticket)
    elif release is None:
        form.add_error(None, _("Gerade gibt es keine Warteschlange, in der Sie einen Platz hätten."))
    return render(
        request,
        "waitingroom/join.html",
        {"release": release, "upcoming": None, "form": form, "has_errors": True},
        status=400,
    )


@require_POST
def enter(request):
    """A called ticket gets its admission (a signed cookie) and goes on to book."""
    ticket = ticket_read(request.COOKIES.get(TICKET_COOKIE))
    if ticket is None:
        return redirect("waitingroom:room")
    try:
        entered = admission_enter(ticket_id=ticket.ticket_id)
    except NotCalledYet as error:
        messages.info(request, error.message)
        return redirect("waitingroom:room")
    except AdmissionLapsed as error:
        response = _problem(request, error, status=410, rejoin=True)
        response.delete_cookie(TICKET_COOKIE)
        return response
    except (AdmissionUsed, WaitingRoomError) as error:
        return _problem(request, error, status=409)
    response = redirect("booking:centres")
    response.set_cookie(
        ADMISSION_COOKIE,
        admission_sign(release_id=entered.release_id, ticket_id=entered.pk, until=entered.admission_until),
        max_age=max(1, int((entered.admission_until - timezone.now()).total_seconds())),
        **_cookie_flags(),
    )
    return response


@require_GET
def faq(request):
    release = gating_release() or upcoming_release()
    return render(
        request,
        "waitingroom/faq.html",
        {
            "release": release,
            "hold_minutes": settings.BOOKING_HOLD_MINUTES,
            "joins_per_minute": settings.WAITINGROOM_JOINS_PER_MINUTE,
        },
    )


@require_GET
def state_json(request, release_id: int):
    """The shared queue state every waiting browser polls: the same for all, so browsers, nginx
    or a CDN may cache it for as long as the server's own copy is allowed to age."""
    state = queue_state(release_id)
    if state is None:
        response = JsonResponse({"detail": "unknown release"}, status=404)
    else:
        response = JsonResponse(state.public())
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=settings.WAITINGROOM_STATE_SECONDS)
    return response


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted proxies the address the outermost
    of them saw (the N-th entry of X-Forwarded-For from the right; entries left of it are the
    client's own word and could be anything)."""
    proxies = settings.WAITINGROOM_TRUSTED_PROXIES
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _with_ticket(response, ticket):
    response.set_cookie(
        TICKET_COOKIE,
        ticket_sign(
            release_id=ticket.release_id, ticket_id=ticket.pk, number=ticket.number, code=ticket.code
        ),
        max_age=TICKET_MAX_AGE,
        **_cookie_flags(),
    )
    return response


def _cookie_flags() -> dict:
    return {"httponly": True, "samesite": "Lax", "secure": settings.SESSION_COOKIE_SECURE}


def _problem(request, error, *, status, rejoin=False):
    return render(
        request,
        "waitingroom/problem.html",
        {"message": error.message, "rejoin": rejoin and gating_release() is not None},
        status=status,
    )
