"""The hotline API's view of releases: what is open or coming, and how much of each release's
hotline contingent is left. The hotline never queues; this is for the agent to tell callers."""

import re

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from impfportal.api.problems import Problem
from impfportal.api.schema import problem
from impfportal.api.views import HotlineView, Pages
from impfportal.models import Scope
from waitingroom.models import Release
from waitingroom.selectors import effective_status, release_free, release_hotline_free, releases_current

RELEASE_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits within a bigint


class ReleaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Release.Status.values)
    opens_at = serializers.DateTimeField()
    prequeue_from = serializers.DateTimeField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    centres = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("leer: alle Zentren")
    )
    vaccines = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("leer: alle Impfstoffe")
    )
    pairs = serializers.IntegerField(help_text=gettext_lazy("freigegebene Terminpaare"))
    hotline_pairs = serializers.IntegerField(help_text=gettext_lazy("davon für die Hotline zurückgehalten"))
    hotline_free = serializers.IntegerField(
        help_text=gettext_lazy("davon jetzt noch frei (vor der Öffnung: das ganze Kontingent)")
    )
    online_free = serializers.IntegerField(
        help_text=gettext_lazy(
            "freie Paare für die Website (ohne Hotline-Kontingent; vor der Öffnung: alle übrigen)"
        )
    )


def _release(release: Release) -> dict:
    status = effective_status(release.status, release.opens_at, release.prequeue_from, timezone.now())
    if status in (Release.Status.SCHEDULED, Release.Status.PREQUEUE):
        # Not open yet: none of its pairs can have been claimed (they become bookable at the
        # opening), so all are still to come. Counting free pairs by the release's centres and
        # days would instead show what other, open releases of the same scope have left.
        hotline_free, online_free = release.hotline_pairs, release.pairs - release.hotline_pairs
    else:
        hotline_free, online_free = release_hotline_free(release), release_free(release)
    return ReleaseOut(
        {
            "id": release.pk,
            "name": release.name,
            "status": status,
            "opens_at": release.opens_at,
            "prequeue_from": release.prequeue_from,
            "first_day": release.first_day,
            "last_day": release.last_day,
            "centres": sorted(c.code for c in release.centres.all()),
            "vaccines": sorted(v.code for v in release.vaccines.all()),
            "pairs": release.pairs,
            "hotline_pairs": release.hotline_pairs,
            "hotline_free": hotline_free,
            "online_free": online_free,
        }
    ).data


class ReleasesView(HotlineView):
    required_scope = Scope.AVAILABILITY
    pagination_class = Pages

    @extend_schema(
        operation_id="releases_list",
        tags=["Freigaben"],
        summary="Laufende und kommende Freigaben",
        description=gettext_lazy(
            "Freigaben, deren Warteraum nicht beendet ist, die nächste zuerst, mit dem Rest des "
            "Hotline-Kontingents. Die Hotline stellt sich nie an."
        ),
        responses={200: ReleaseOut(many=True)},
    )
    def get(self, request):
        return self.paginated(request, releases_current(), lambda page: [_release(r) for r in page])


class ReleaseView(HotlineView):
    required_scope = Scope.AVAILABILITY

    @extend_schema(
        operation_id="release_read",
        tags=["Freigaben"],
        summary="Eine Freigabe",
        description=gettext_lazy("Eine Freigabe, auch eine beendete, mit dem Rest des Hotline-Kontingents."),
        parameters=[OpenApiParameter("release_id", int, OpenApiParameter.PATH)],
        responses={200: ReleaseOut, 404: problem("`release_not_found`")},
    )
    def get(self, request, release_id):
        # Any text after releases/ reaches this view, so that a mistyped id gets this problem
        # document rather than the website's HTML "page not found".
        release = None
        if RELEASE_ID.fullmatch(release_id):
            release = Release.objects.prefetch_related("centres", "vaccines").filter(pk=release_id).first()
        if release is None:
            raise Problem(404, "release_not_found", _("Diese Freigabe gibt es nicht."))
        return Response(_release(release))


urlpatterns = [
    path("releases", ReleasesView.as_view(), name="releases"),
    path("releases/<str:release_id>", ReleaseView.as_view(), name="release"),
]
