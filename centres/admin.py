from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centres.models import Centre, Closure, OpeningHours
from centres.selectors import day_capacity


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0
    ordering = ["-date"]


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "town", "lanes", "minutes_per_vaccination", "capacity_today", "active"]
    list_display_links = ["code", "name"]
    list_filter = ["active", "lanes"]
    search_fields = ["code", "name", "town", "postcode", "venue"]
    ordering = ["code"]
    inlines = [OpeningHoursInline, ClosureInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "active"]}),
        (_("Adresse"), {"fields": ["venue", "street", "postcode", "town", "latitude", "longitude"]}),
        (_("Kapazität"), {"fields": ["lanes", "minutes_per_vaccination", "notes"]}),
    ]

    @admin.display(description=_("Termine heute"))
    def capacity_today(self, centre):
        return day_capacity(centre=centre, day=timezone.localdate()).total


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "centre", "reason"]
    list_filter = ["centre"]
    search_fields = ["reason", "centre__name", "centre__code"]
    date_hierarchy = "date"
    autocomplete_fields = ["centre"]
