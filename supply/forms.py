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
