"""Serializer helpers every app's API shares."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know: a misspelt optional field would otherwise be dropped
    without a word, and the agent would book something other than what they meant."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            message = str(_("Dieses Feld gibt es nicht."))
            unknown = {
                name: [ErrorDetail(message, "unknown_field")] for name in sorted(set(data) - set(self.fields))
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:  # reported with the other fields' errors, all at once
            raise serializers.ValidationError(unknown)
        return value


def field_error(field: str, message: str, code: str = "invalid") -> serializers.ValidationError:
    return serializers.ValidationError({field: [ErrorDetail(str(message), code)]})
