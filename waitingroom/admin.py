"""Admin of the waiting room: staff schedule releases and end waiting rooms; tickets are looked
up by code for support, never edited.

Adding a release schedules it (waitingroom.services.release_schedule) in the same transaction
as the row; after that its scope and opening are fixed, because changing them would mean
marking appointments anew.
"""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from booking.codes import clean_code, format_code
from supply.admin.common import ReadOnlyAdmin, badge, local_time, titled
from supply.exceptions import PlanningBusy
from waitingroom import selectors
from waitingroom.exceptions import ReleaseInvalid
from waitingroom.models import Release, Ticket
from waitingroom.services import releasable_pairs_for, release_close, release_schedule

Status = Release.Status
CLOSABLE = (Status.PREQUEUE, Status.OPEN, Status.SOLD_OUT)
STATUS_TONES = {
    Status.SCHEDULED: "quiet",
    Status.PREQUEUE: "info",
    Status.OPEN: "good",
    Status.SOLD_OUT: "info",
    Status.CLOSED: "quiet",
}
NOTHING_TO_RELEASE = _("Im gewählten Zeitraum gibt es keine geplanten, noch nicht freigegebenen Termine.")


def _number(value) -> str:
    return "–" if value is None else number_format(value, force_grouping=True)


def _status(release: Release) -> str:
    """The status by the clock (a pre-queue starts and a release opens on time, tick or not)."""
    return selectors.effective_status(release.status, release.opens_at, release.prequeue_from, timezone.now())


# --- Releases -------------------------------------------------------------------------------


class ReleaseForm(forms.ModelForm):
    class Meta:
        model = Release
        fields = [
            "name",
            "centres",
            "vaccines",
            "first_day",
            "last_day",
            "opens_at",
            "prequeue_minutes",
            "hotline_percent",
            "hotline_count",
            "admission_limit",
            "admission_minutes",
        ]
        help_texts = {
            "name": _("Wird im Warteraum angezeigt, z. B. „Termine Juni, alle Impfzentren“."),
            "first_day": _(
                "Erster Tag der freizugebenden Termine. Er darf vor dem Tag der Öffnung liegen, "
                "Termine vor der Öffnung werden aber nie freigegeben."
            ),
            "last_day": _("Letzter Tag der freizugebenden Termine (einschließlich)."),
            "opens_at": _(
                "Ab dann sind die Termine buchbar, in der Reihenfolge der Warteschlange. "
                "Die Öffnung muss in der Zukunft liegen."
            ),
            "hotline_percent": _(
                "Anteil der Terminpaare, die nur die Hotline buchen kann (abgerundet, gleichmäßig über "
                "die Tage verteilt)."
            ),
            "admission_limit": _(
                "So viele aufgerufene Personen dürfen gleichzeitig buchen; alle weiteren warten. "
                "Kann jederzeit geändert werden."
            ),
        }

    def clean_opens_at(self):
        opens_at = self.cleaned_data["opens_at"]
        if self.instance.pk is None and opens_at <= timezone.now():
            raise ValidationError(
                _("Die Öffnung liegt in der Vergangenheit. Bitte einen späteren Zeitpunkt wählen.")
            )
        return opens_at

    def clean_hotline_percent(self):
        percent = self.cleaned_data["hotline_percent"]
        if percent is not None and percent > 100:
            raise ValidationError(_("Der Anteil kann höchstens 100 Prozent sein."))
        return percent

    def clean_admission_limit(self):
        return self._at_least_one("admission_limit")

    def clean_admission_minutes(self):
        return self._at_least_one("admission_minutes")

    def _at_least_one(self, name):
        value = self.cleaned_data[name]
        if value is not None and value < 1:
            raise ValidationError(_("Mindestens 1."))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            return cleaned  # scheduled: the scope is read-only
        first_day, last_day = cleaned.get("first_day"), cleaned.get("last_day")
        if first_day and last_day and last_day < first_day:
            self.add_error("last_day", _("Der letzte Tag liegt vor dem ersten Tag."))
        if self.errors:
            return cleaned
        releasable = releasable_pairs_for(
            centre_ids=[centre.pk for centre in cleaned["centres"]],
            vaccine_ids=[vaccine.pk for vaccine in cleaned["vaccines"]],
            first_day=first_day,
            last_day=last_day,
            opens_at=cleaned["opens_at"],
        )
        if not releasable:
            raise ValidationError(NOTHING_TO_RELEASE)
        hotline_count = cleaned.get("hotline_count")
        if hotline_count is not None and hotline_count > releasable:
            self.add_error(
                "hotline_count",
                _("Im gewählten Zeitraum gibt es nur %(count)s Terminpaare.")
                % {"count": _number(releasable)},
            )
        return cleaned


SCOPE_FIELDSETS = [
    (None, {"fields": ["name"]}),
    (_("Termine"), {"fields": ["centres", "vaccines", "first_day", "last_day"]}),
    (_("Öffnung"), {"fields": ["opens_at", "prequeue_minutes"]}),
    (_("Hotline"), {"fields": ["hotline_percent", "hotline_count"]}),
    (_("Einlass"), {"fields": ["admission_limit", "admission_minutes"]}),
]
# Once scheduled, the scope is shown (not edited) and the release's results follow.
CHANGE_FIELDSETS = [
    (None, {"fields": ["name", "created_by", "created_at"]}),
    (_("Termine"), {"fields": ["centres_shown", "vaccines_shown", "days", "pairs"]}),
    (_("Öffnung"), {"fields": ["opening", "prequeue_minutes", "prequeue_start"]}),
    (_("Hotline"), {"fields": ["hotline_percent", "hotline_count", "hotline_pairs"]}),
    (_("Einlass"), {"fields": ["admission_limit", "admission_minutes"]}),
    (
        _("Warteschlange"),
        {
            "fields": [
                "status_badge",
                "joined",
                "prequeue_size",
                "called_up_to",
                "in_process_now",
                "free_now",
                "rate",
                "computed_at",
                "closed_at",
            ]
        },
    ),
]
EDITABLE_WHEN_SCHEDULED = {"name", "admission_limit", "admission_minutes"}


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    form = ReleaseForm
    list_display = [
        "name",
        "opening",
        "scope",
        "days",
        "status_badge",
        "pairs_shown",
        "hotline_pairs_shown",
        "joined_shown",
        "called_up_to_shown",
        "free_now",
    ]
    list_filter = ["status"]
    ordering = ["-opens_at"]
    date_hierarchy = "opens_at"
    actions = ["close_waiting_room"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("created_by").prefetch_related("centres", "vaccines")
        )

    def get_fieldsets(self, request, obj=None):
        return SCOPE_FIELDSETS if obj is None else CHANGE_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fields = [name for _title, options in CHANGE_FIELDSETS for name in options["fields"]]
        return [name for name in fields if name not in EDITABLE_WHEN_SCHEDULED]

    def has_delete_permission(self, request, obj=None):
        return False  # releases are history: their appointments stay released

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.close_view))
        close = path("<path:object_id>/beenden/", view, name="waitingroom_release_close")
        return [close, *super().get_urls()]

    # Adding schedules the release.

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the scope (M2M) first
        if not change:
            release_schedule(release=form.instance)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin saves the row, its scope and the scheduling in one transaction. The form has
        # counted the releasable pairs, but they can go before the scheduling takes the planning
        # locks (another release, a re-plan), or a plan run holds those locks too long: then the
        # domain error leaves that transaction, which rolls everything back (the row too), and
        # staff see why instead of an error page, back on an empty add form.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ReleaseInvalid, PlanningBusy) as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # One way out of the add form: saving schedules, and the release's page follows.
        context.update(
            show_save_and_add_another=False,
            show_save_and_continue=not add,
            closable=obj is not None
            and _status(obj) in CLOSABLE
            and self.has_change_permission(request, obj),
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            gettext(
                "Freigabe „%(name)s“ geplant: %(pairs)s Terminpaare, davon %(hotline)s für die "
                "Hotline. Buchbar ab %(opens)s, Anstellen ab %(prequeue)s."
            )
            % {
                "name": obj.name,
                "pairs": _number(obj.pairs),
                "hotline": _number(obj.hotline_pairs),
                "opens": local_time(obj.opens_at, weekday=True),
                "prequeue": local_time(obj.prequeue_from, weekday=True),
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:waitingroom_release_change", args=[obj.pk]))

    # Ending a waiting room: an action on the list, a button on the release's page.

    @admin.action(description=_("Warteraum beenden"), permissions=["change"])
    def close_waiting_room(self, request, queryset):
        self._close(request, list(queryset))

    def close_view(self, request, object_id):
        release = self.get_object(request, unquote(object_id))
        if release is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, release):
            raise PermissionDenied
        self._close(request, [release])
        return HttpResponseRedirect(reverse("admin:waitingroom_release_change", args=[release.pk]))

    def _close(self, request, releases):
        """End the waiting rooms that have begun (one not yet begun would leave its opening
        without a queue) and say which were ended and which not."""
        closed = [release for release in releases if _status(release) in CLOSABLE]
        for release in closed:
            release_close(release_id=release.pk)
        if closed:
            selectors.clear_cache()  # this process's gate follows the new status at once
            self.message_user(
                request,
                gettext(
                    "Warteraum beendet: %(names)s. Die freigegebenen Termine bleiben buchbar, "
                    "ohne Warteschlange."
                )
                % {"names": _quoted(closed)},
                messages.SUCCESS,
            )
        skipped = [release for release in releases if release not in closed]
        if skipped:
            self.message_user(
                request,
                gettext("Nicht beendet, weil noch nicht begonnen oder schon beendet: %(names)s.")
                % {"names": _quoted(skipped)},
                messages.WARNING,
            )

    # Columns and read-only fields.

    @admin.display(description=_("Öffnung"), ordering="opens_at")
    def opening(self, release):
        return local_time(release.opens_at, weekday=True)

    @admin.display(description=_("Anstellen ab"))
    def prequeue_start(self, release):
        return local_time(release.prequeue_from, weekday=True)

    @admin.display(description=_("Umfang"))
    def scope(self, release):
        return format_html("{}<br>{}", self.centres_shown(release), self.vaccines_shown(release))

    @admin.display(description=_("Impfzentren"))
    def centres_shown(self, release):
        return ", ".join(centre.name for centre in release.centres.all()) or gettext("alle Impfzentren")

    @admin.display(description=_("Impfstoffe"))
    def vaccines_shown(self, release):
        return ", ".join(vaccine.name for vaccine in release.vaccines.all()) or gettext("alle Impfstoffe")

    @admin.display(description=_("Termine"), ordering="first_day")
    def days(self, release):
        return f"{release.first_day:%d.%m.%Y}–{release.last_day:%d.%m.%Y}"

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, release):
        status = Status(_status(release))
        return badge(status.label, STATUS_TONES[status])

    @admin.display(description=_("Terminpaare"), ordering="pairs")
    def pairs_shown(self, release):
        return _number(release.pairs)

    @admin.display(description=_("Hotline"), ordering="hotline_pairs")
    def hotline_pairs_shown(self, release):
        return _number(release.hotline_pairs)

    @admin.display(description=_("angestellt"), ordering="joined")
    def joined_shown(self, release):
        return _number(release.joined)

    @admin.display(description=_("aufgerufen bis"), ordering="called_up_to")
    def called_up_to_shown(self, release):
        return _number(release.called_up_to)

    @admin.display(description=_("frei jetzt"))
    def free_now(self, release):
        if release.status == Status.CLOSED:
            return "–"  # the last tick's number, no longer kept up to date
        return _number(release.state.get("free"))

    @admin.display(description=_("gerade in der Buchung"))
    def in_process_now(self, release):
        busy, holding = selectors.in_process(release, timezone.now())
        return gettext("%(busy)s, davon %(holding)s mit reserviertem Termin") % {
            "busy": _number(busy),
            "holding": _number(holding),
        }

    @admin.display(description=_("Aufrufe pro Minute"))
    def rate(self, release):
        rate = release.state.get("rate_per_minute")
        return "–" if rate is None else number_format(rate, decimal_pos=1)

    @admin.display(description=_("zuletzt berechnet"))
    def computed_at(self, release):
        computed_at = release.state.get("computed_at")
        return "–" if computed_at is None else local_time(datetime.fromisoformat(computed_at))


def _quoted(releases) -> str:
    return ", ".join(f"„{release.name}“" for release in releases)


# --- Tickets --------------------------------------------------------------------------------


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    """Tickets for the hotline's and support's questions ("Was ist mit meiner Wartenummer?").
    The client hash (a rate limit's key) is not shown."""

    list_display = [
        "release_name",
        "code_shown",
        "number",
        "place",
        "created",
        "called",
        "admission_until_shown",
        "entered",
        "used",
        "booking_shown",
    ]
    list_filter = [("release", titled(admin.RelatedOnlyFieldListFilter, _("Freigabe")))]
    list_select_related = ["release", "booking"]
    search_fields = ["=code"]
    ordering = ["-pk"]
    show_full_result_count = False
    fields = list_display
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, clean_code(search_term))

    @admin.display(description=_("Freigabe"), ordering="release__opens_at")
    def release_name(self, ticket):
        return ticket.release.name

    @admin.display(description=_("Wartenummer"), ordering="code")
    def code_shown(self, ticket):
        return format_code(ticket.code)

    @admin.display(description=_("angestellt"), ordering="created_at")
    def created(self, ticket):
        return _moment(ticket.created_at)

    @admin.display(description=_("aufgerufen"), ordering="called_at")
    def called(self, ticket):
        return _moment(ticket.called_at)

    @admin.display(description=_("Einlass bis"), ordering="admission_until")
    def admission_until_shown(self, ticket):
        return _moment(ticket.admission_until)

    @admin.display(description=_("eingelassen"), ordering="entered_at")
    def entered(self, ticket):
        return _moment(ticket.entered_at)

    @admin.display(description=_("gebucht"), ordering="used_at")
    def used(self, ticket):
        return _moment(ticket.used_at)

    @admin.display(description=_("Buchung"))
    def booking_shown(self, ticket):
        if ticket.booking is None:
            return "–"
        url = reverse("admin:booking_booking_change", args=[ticket.booking_id])
        return format_html('<a href="{}">{}</a>', url, format_code(ticket.booking.code))


def _moment(moment) -> str:
    return "–" if moment is None else local_time(moment)
