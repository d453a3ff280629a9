import json
from decimal import Decimal

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# The API's own bodies nest three deep (a transaction's lines); anything far deeper is refused before a
# recursive step (parsing, validation, hashing) can run out of stack on it.
MAX_DEPTH = 32


class ExactJSONParser(JSONParser):
    """JSON numbers with a fraction become Decimal, never float: money stays exact. The body is read as
    UTF-8 (the only charset the API takes: see config.middleware); NaN, Infinity and nesting deeper than
    MAX_DEPTH are malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = json.loads(stream.read().decode("utf-8"), parse_float=Decimal, parse_constant=_not_json)
        except RecursionError as exc:
            raise exceptions.ParseError(f"nested deeper than {MAX_DEPTH} levels") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(str(exc)) from exc
        if _deeper_than(data, MAX_DEPTH):
            raise exceptions.ParseError(f"nested deeper than {MAX_DEPTH} levels")
        return data


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def _deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels, found without recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
