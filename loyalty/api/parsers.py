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
        problem = _problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def _problem(value: object) -> str | None:
    """What makes parsed JSON unusable, found without recursion: nesting deeper than MAX_DEPTH, or a string
    holding a lone surrogate (a `\\ud800` escape), which no UTF-8 text, database or response can carry."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not _is_text(node):
                return "a string holds a lone surrogate (\\ud800-\\udfff escape)"
            continue
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def _is_text(string: str) -> bool:
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
