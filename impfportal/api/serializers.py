"""Serializer helpers every app's API shares."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, and numbers where text belongs: a misspelt optional field
    would otherwise be dropped without a word (the agent would book something other than they
    meant), and DRF would quietly turn a name sent as 17 into "17". Such errors are reported
    with those of the other fields, all at once."""

    def to_internal_value(self, data):
        extra = self._unknown_and_mistyped(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if extra and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **extra}) from None
            raise
        if extra:
            raise serializers.ValidationError(extra)
        return value

    def _unknown_and_mistyped(self, data: Mapping) -> dict:
        errors = {}
        unknown = str(_("Dieses Feld gibt es nicht."))
        for name in sorted(set(data) - set(self.fields)):
            errors[name] = [ErrorDetail(unknown, "unknown_field")]
        not_text = str(_("Bitte als Text angeben, nicht als Zahl."))
        for name, field in self.fields.items():
            value = data.get(name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)  # DRF refuses bools
            if isinstance(field, serializers.CharField) and is_number:
                errors[name] = [ErrorDetail(not_text, "invalid")]
        return errors


def field_error(field: str, message: str, code: str = "invalid") -> serializers.ValidationError:
    return serializers.ValidationError({field: [ErrorDetail(str(message), code)]})
