"""Forms of the supply app: the delivery upload in the admin."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from supply.models import DeliveryUpload
from supply.services.uploads import MAX_UPLOAD_BYTES


class DeliveryUploadForm(forms.Form):
    """Only picks the file and its format; the upload service validates the content."""

    file = forms.FileField(
        label=_("Datei"),
        # The upload service reports an empty file with the other problems of a file.
        allow_empty_file=True,
        help_text=format_lazy(
            _(
                "CSV (UTF-8, Semikolon oder Komma) oder XLSX mit einem Tabellenblatt; "
                "impfdashboard: TSV. Höchstens {} MB."
            ),
            MAX_UPLOAD_BYTES // (1024 * 1024),
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )
    file_format = forms.ChoiceField(
        label=_("Format"),
        choices=DeliveryUpload.Format.choices,
        initial=DeliveryUpload.Format.OWN,
        widget=forms.RadioSelect(attrs={"class": "radiolist"}),
    )


class PlanWindowForm(forms.Form):
    """The days a manual plan run covers; empty: from tomorrow for the configured horizon."""

    MAX_DAYS = 400

    plan_from = forms.DateField(
        label=_("von"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("leer: morgen"),
    )
    plan_to = forms.DateField(
        label=_("bis"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("leer: nach dem Planungshorizont"),
    )

    def clean(self):
        cleaned = super().clean()
        plan_from, plan_to = cleaned.get("plan_from"), cleaned.get("plan_to")
        if plan_to and not plan_from:
            self.add_error("plan_from", _("Bitte auch den ersten Tag angeben."))
        if plan_from and plan_to:
            if plan_to < plan_from:
                self.add_error("plan_to", _("Der letzte Tag liegt vor dem ersten."))
            elif (plan_to - plan_from).days >= self.MAX_DAYS:
                self.add_error(
                    "plan_to", _("Höchstens %(days)d Tage auf einmal planen.") % {"days": self.MAX_DAYS}
                )
        return cleaned
