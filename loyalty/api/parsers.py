import json
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class ExactJSONParser(JSONParser):
    """JSON numbers with a fraction become Decimal, never float: money stays exact."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(str(exc)) from exc
