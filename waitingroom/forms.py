"""Forms of the waiting room's pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from booking.codes import clean_code
from waitingroom.services import TICKET_CODE_LENGTH


class RestoreForm(forms.Form):
    code = forms.CharField(
        label=_("Ihre Wartenummer"),
        max_length=20,
        help_text=_("Die Wartenummer steht auf der Warteseite, zum Beispiel ACDE-FHJK."),
        error_messages={"required": _("Bitte geben Sie Ihre Wartenummer ein.")},
    )

    def clean_code(self):
        code = clean_code(self.cleaned_data["code"])
        if len(code) != TICKET_CODE_LENGTH:
            raise forms.ValidationError(_("Eine Wartenummer hat 8 Zeichen, zum Beispiel ACDE-FHJK."))
        return code
