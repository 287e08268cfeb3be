"""Admin of vaccines, deliveries, the distribution key and the delivery upload.

The upload views are thin: they parse the form, call one service of supply/services/uploads.py
and show its result or its errors; all checks live in the service.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Subquery, Sum
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from centres.models import Centre
from supply import parsers
from supply.distribution import REFERENCE_DAY, capacity_weights, distribution_key_in_use, distribution_weights
from supply.exceptions import SupplyError, UploadInvalid
from supply.forms import DeliveryUploadForm
from supply.models import Delivery, DeliveryRevision, DeliveryUpload, DistributionKey, Vaccine, VaccineAgeRule
from supply.selectors import upload_diff
from supply.services.uploads import (
    MAX_UPLOAD_BYTES,
    delivery_save,
    upload_apply,
    upload_discard,
    upload_preview,
)

# The preview lists at most this many rows per table; the counts are always complete.
PREVIEW_ROWS = 500


def _status_label(value: str) -> str:
    if not value:
        return "–"
    try:
        return str(Delivery.Status(value).label)
    except ValueError:
        return value


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "–"
    return f"{100 * part / whole:.1f} %".replace(".", ",")


# --- Vaccines --------------------------------------------------------------------------------


class VaccineAgeRuleInline(admin.TabularInline):
    model = VaccineAgeRule
    extra = 0


@admin.register(Vaccine)
class VaccineAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "doses_per_vial",
        "doses_in_series",
        "interval_min_days",
        "interval_target_days",
        "interval_max_days",
        "active",
    ]
    list_filter = ["active"]
    search_fields = ["name", "code"]
    inlines = [VaccineAgeRuleInline]


# --- Deliveries ------------------------------------------------------------------------------


class DeliveryRevisionInline(admin.TabularInline):
    model = DeliveryRevision
    extra = 0
    can_delete = False
    fields = [
        "changed_at",
        "changed_by",
        "upload",
        "old_doses",
        "old_status_label",
        "new_doses",
        "new_status_label",
    ]
    readonly_fields = fields
    verbose_name_plural = _("Änderungen")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Status vorher"))
    def old_status_label(self, revision):
        return _status_label(revision.old_status)

    @admin.display(description=_("Status nachher"))
    def new_status_label(self, revision):
        return _status_label(revision.new_status)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["date", "centre", "vaccine", "doses", "status", "upload"]
    list_filter = ["centre", "vaccine", "status"]
    date_hierarchy = "date"
    search_fields = ["centre__code", "centre__name", "vaccine__code", "vaccine__name", "upload__file_name"]
    list_select_related = ["centre", "vaccine", "upload"]
    inlines = [DeliveryRevisionInline]

    def get_readonly_fields(self, request, obj=None):
        # Centre, vaccine and day identify a delivery; a correction changes doses or status.
        if obj is None:
            return ["upload"]
        return ["centre", "vaccine", "date", "upload"]

    def save_model(self, request, obj, form, change):
        run = delivery_save(delivery=obj, user=request.user)
        if run is not None:
            url = reverse("admin:supply_planrun_change", args=[run.pk])
            self.message_user(
                request, format_html(_('Der Planer wurde gestartet: <a href="{}">Planungslauf</a>.'), url)
            )

    def has_delete_permission(self, request, obj=None):
        # Deleting would lose the revisions; a delivery that did not happen is set to "storniert".
        return False


# --- Distribution key ------------------------------------------------------------------------


@admin.register(DistributionKey)
class DistributionKeyAdmin(admin.ModelAdmin):
    change_list_template = "admin/supply/distributionkey/change_list.html"
    list_display = ["centre", "weight", "share", "capacity_share"]
    list_display_links = ["centre"]
    list_editable = ["weight"]
    list_select_related = ["centre"]
    ordering = ["centre__code"]

    def get_queryset(self, request):
        active_total = (
            DistributionKey.objects.filter(centre__active=True)
            .order_by()
            .values("centre__active")
            .annotate(total=Sum("weight"))
            .values("total")
        )
        return super().get_queryset(request).annotate(active_total=Subquery(active_total[:1]))

    @admin.display(description=_("Anteil an Landeslieferungen"))
    def share(self, key):
        if not key.centre.active:
            return _("inaktiv")
        return _percent(key.weight, key.active_total or 0)

    @admin.display(description=_("Kapazitätsanteil (Standard)"))
    def capacity_share(self, key):
        weights = capacity_weights()
        return _percent(weights.get(key.centre_id, 0), sum(weights.values()))

    def changelist_view(self, request, extra_context=None):
        weights = distribution_weights()
        capacities = capacity_weights()
        centres = Centre.objects.filter(active=True).order_by("code")
        total, capacity_total = sum(weights.values()), sum(capacities.values())
        extra_context = {
            **(extra_context or {}),
            "key_in_use": distribution_key_in_use(),
            "reference_day": REFERENCE_DAY,
            "distribution": [
                {
                    "centre": centre,
                    "weight": weights.get(centre.id, 0),
                    "share": _percent(weights.get(centre.id, 0), total),
                    "capacity": capacities.get(centre.id, 0),
                    "capacity_share": _percent(capacities.get(centre.id, 0), capacity_total),
                }
                for centre in centres
            ],
        }
        return super().changelist_view(request, extra_context=extra_context)


# --- Uploads ---------------------------------------------------------------------------------


@admin.register(DeliveryUpload)
class DeliveryUploadAdmin(admin.ModelAdmin):
    change_list_template = "admin/supply/deliveryupload/change_list.html"
    list_display = [
        "uploaded_at",
        "file_name",
        "file_format",
        "state",
        "uploaded_by",
        "period",
        "changes",
        "preview",
    ]
    list_display_links = ["uploaded_at", "file_name"]
    list_filter = ["state", "file_format"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "uploaded_at"
    list_select_related = ["uploaded_by"]
    fields = [
        "file_name",
        "file_format",
        "state",
        "uploaded_by",
        "uploaded_at",
        "applied_at",
        "period",
        "changes",
        "ignored",
        "notices",
        "preview",
        "deliveries",
        "sha256",
    ]
    readonly_fields = fields

    # Uploads are records: created by the upload view, never edited or deleted.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:supply_deliveryupload_upload")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="supply_deliveryupload_upload"),
            path("vorlage.<str:extension>", wrap(self.template_view), name="supply_deliveryupload_template"),
            path("<int:object_id>/preview/", wrap(self.preview_view), name="supply_deliveryupload_preview"),
            *super().get_urls(),
        ]

    # Columns and fields.

    @admin.display(description=_("Zeitraum"))
    def period(self, upload):
        if not upload.date_from:
            return "–"
        return f"{upload.date_from:%d.%m.%Y} – {upload.date_to:%d.%m.%Y}"

    @admin.display(description=_("Änderungen"))
    def changes(self, upload):
        counts = upload.summary.get("applied") or upload.summary
        return gettext(
            "%(new)d neu, %(changed)d geändert, %(withdrawn)d storniert, %(unchanged)d unverändert"
        ) % {key: counts.get(key, 0) for key in ("new", "changed", "withdrawn", "unchanged")}

    @admin.display(description=_("Ignorierte Zeilen"))
    def ignored(self, upload):
        return upload.summary.get("ignored", 0)

    @admin.display(description=_("Hinweise"))
    def notices(self, upload):
        return "\n".join(upload.summary.get("notices", [])) or "–"

    @admin.display(description=_("Vorschau"))
    def preview(self, upload):
        url = reverse("admin:supply_deliveryupload_preview", args=[upload.pk])
        label = (
            gettext("Vorschau und Übernahme")
            if upload.state == DeliveryUpload.State.PREVIEWED
            else gettext("Details")
        )
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=_("Lieferungen"))
    def deliveries(self, upload):
        url = reverse("admin:supply_delivery_changelist") + f"?upload__id__exact={upload.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("von diesem Upload geschriebene Lieferungen"))

    # Views.

    def _context(self, request, **context):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **context}

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        errors, file_name = [], ""
        if request.method == "POST":
            form = DeliveryUploadForm(request.POST, request.FILES)
            if form.is_valid():
                file_name = form.cleaned_data["file"].name
                try:
                    upload = upload_preview(
                        file=form.cleaned_data["file"],
                        file_format=form.cleaned_data["file_format"],
                        user=request.user,
                    )
                except UploadInvalid as exc:
                    errors = exc.errors
                else:
                    return redirect("admin:supply_deliveryupload_preview", upload.pk)
        else:
            form = DeliveryUploadForm()
        context = self._context(
            request,
            title=_("Lieferungen hochladen"),
            form=form,
            errors=errors,
            file_name=file_name,
            max_megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
            earliest=parsers.EARLIEST_DATE,
            latest=parsers.latest_date(timezone.localdate()),
            horizon_days=parsers.HORIZON_DAYS,
            vaccines=Vaccine.objects.filter(active=True).order_by("code"),
            centres=Centre.objects.filter(active=True).order_by("code"),
        )
        return TemplateResponse(request, "admin/supply/deliveryupload/upload.html", context)

    def template_view(self, request, extension):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if extension == "csv":
            content, content_type = parsers.template_csv(), "text/csv; charset=utf-8"
        elif extension == "xlsx":
            content = parsers.template_xlsx()
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            return HttpResponseBadRequest()
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="lieferungen-vorlage.{extension}"'
        return response

    def preview_view(self, request, object_id):
        upload = get_object_or_404(DeliveryUpload.objects.select_related("uploaded_by"), pk=object_id)
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        if request.method == "POST":
            return self._preview_post(request, upload)
        previewed = upload.state == DeliveryUpload.State.PREVIEWED
        diff = upload_diff(upload=upload) if previewed else None
        counts = diff.counts() if diff else (upload.summary.get("applied") or upload.summary)
        stale = bool(diff) and any(upload.summary.get(key) != value for key, value in diff.counts().items())
        context = self._context(
            request,
            title=gettext("Vorschau: %(file)s") % {"file": upload.file_name},
            upload=upload,
            counts={key: counts.get(key, 0) for key in ("new", "changed", "withdrawn", "unchanged")},
            stale=stale,
            summary=upload.summary,
            notices=upload.summary.get("notices", []),
            ignored_detail=upload.summary.get("ignored_detail", {}),
            tables=self._tables(diff) if diff else [],
            can_apply=previewed and self.has_add_permission(request),
            plan_run_url=self._plan_run_url((upload.summary.get("applied") or {}).get("plan_run")),
            deliveries_url=reverse("admin:supply_delivery_changelist") + f"?upload__id__exact={upload.pk}",
        )
        return TemplateResponse(request, "admin/supply/deliveryupload/preview.html", context)

    def _preview_post(self, request, upload):
        if not self.has_add_permission(request):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "apply":
                result = upload_apply(upload=upload, user=request.user)
                messages.success(request, self._applied_message(upload, result))
            elif action == "discard":
                upload_discard(upload=upload, user=request.user)
                messages.success(
                    request,
                    gettext("Der Upload „%(file)s“ wurde verworfen; es wurde nichts übernommen.")
                    % {"file": upload.file_name},
                )
            else:
                return HttpResponseBadRequest()
        except SupplyError as exc:
            messages.error(request, exc.message)
            return redirect("admin:supply_deliveryupload_preview", upload.pk)
        return redirect("admin:supply_deliveryupload_changelist")

    def _applied_message(self, upload, result):
        if not result.rows_changed:
            return gettext("„%(file)s“ übernommen: keine Änderungen. Der Planer wurde nicht gestartet.") % {
                "file": upload.file_name
            }
        text = gettext(
            "„%(file)s“ übernommen: %(count)d Lieferungen geändert (%(created)d neu, %(changed)d geändert, "
            "%(withdrawn)d storniert). Der Planer wurde gestartet."
        ) % {
            "file": upload.file_name,
            "count": result.rows_changed,
            "created": result.created,
            "changed": result.changed,
            "withdrawn": result.withdrawn,
        }
        url = self._plan_run_url(result.plan_run.pk if result.plan_run else None)
        if not url:
            return text
        return format_html('{} <a href="{}">{}</a>', text, url, gettext("Zum Planungslauf"))

    @staticmethod
    def _plan_run_url(run_id):
        if not run_id:
            return None
        try:
            return reverse("admin:supply_planrun_change", args=[run_id])
        except NoReverseMatch:  # the plan run admin is not registered (yet)
            return None

    @staticmethod
    def _tables(diff):
        def rows(changes):
            return [
                {
                    "centre": change.centre,
                    "vaccine": change.vaccine,
                    "date": change.date,
                    "old_doses": change.old_doses,
                    "old_status": _status_label(change.old_status),
                    "new_doses": change.new_doses,
                    "new_status": _status_label(change.new_status),
                }
                for change in changes[:PREVIEW_ROWS]
            ]

        return [
            {
                "key": key,
                "title": title,
                "count": len(changes),
                "rows": rows(changes),
                "hidden": max(len(changes) - PREVIEW_ROWS, 0),
                "show_old": key != "new",
            }
            for key, title, changes in (
                ("new", _("Neue Lieferungen"), diff.new),
                ("changed", _("Geänderte Lieferungen"), diff.changed),
                ("withdrawn", _("Zurückgezogene Lieferungen (werden storniert)"), diff.withdrawn),
            )
            if changes
        ]
