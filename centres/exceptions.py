"""Domain errors of the centres app, with user-facing (German, translatable) messages."""

from django.utils.translation import gettext_lazy as _


class CentresError(Exception):
    """Base of the centres app's domain errors; `message` is safe to show to citizens."""

    code = "centres_error"

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


class PostcodeError(CentresError):
    """The citizen's postcode cannot be used; catch this to handle both cases below."""


class MalformedPostcode(PostcodeError):
    """Not five digits once spaces are removed."""

    code = "postcode_malformed"

    def __init__(self):
        super().__init__(_("Eine Postleitzahl hat fünf Ziffern, zum Beispiel 01067."))


class UnknownPostcode(PostcodeError):
    """Five digits, but no German postcode we have coordinates for."""

    code = "postcode_unknown"

    def __init__(self):
        super().__init__(_("Diese Postleitzahl kennen wir nicht. Bitte prüfen Sie die fünf Ziffern."))
