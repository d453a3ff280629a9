"""docs/API.md is the integrator's reference; these tests keep it honest against the server.

- Every operation of the generated OpenAPI schema has its heading in the document, and every endpoint heading
  under /api/ names an operation of the schema. Headings read "### `POST /api/v1/holds`"; path parameters
  are compared by position only (`{id}` in the document matches `{hold_id}` in the schema).
- Endpoints documented outside /api/ (the health checks) are routes the server has.
- Every error code the code base can raise appears in the document's error tables: the `code` of every
  DomainError subclass and every `code=` given to one when raised, every code of an `error_body(...)`
  answer, every code the API's validation chooses, and every code the validation mapping in
  config/api_errors.py produces.
- The document stands alone: its in-page links resolve and nothing points outside the project.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

import loyalty.adjustments.errors  # noqa: F401
import loyalty.earning.errors  # noqa: F401 (with the imports below: every module that defines a DomainError)
import loyalty.errors  # noqa: F401
import loyalty.holds.errors  # noqa: F401
import loyalty.idempotency.errors  # noqa: F401
import loyalty.ledger.errors  # noqa: F401
import loyalty.shops.errors  # noqa: F401
import loyalty.subscriptions.errors  # noqa: F401
import members.errors  # noqa: F401
import rewards.errors  # noqa: F401
from config.api_errors import BOUND_CODES, INVALID_CODES, MISSING_CODES, _validation_code
from members.errors import DomainError

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs/API.md"
SOURCE_DIRS = ("config", "loyalty", "members", "rewards", "privacy")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ENDPOINT_HEADING = re.compile(rf"^#{{2,4}} `({'|'.join(METHODS)}) (/[^`\s]*)`\s*$", re.MULTILINE)
PATH_PARAM = re.compile(r"\{[^}/]+\}")
# DRF's own validation codes that the API's serializers and fields can raise; config/api_errors.py maps them to
# the API's codes (or passes them through), and whatever comes out must be documented.
DRF_CODES = sorted(
    MISSING_CODES
    | BOUND_CODES
    | INVALID_CODES
    | {"max_decimal_places", "null_characters_not_allowed", "surrogate_characters_not_allowed", "max_string_length"}
    | {"overflow"}  # DRF's DateTimeField, for a time it cannot convert to UTC
)
# Where the project's own files may live; everything else under the checkout is tooling or local state.
NOT_THE_PROJECT = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def endpoint(method: str, path: str) -> str:
    return f"{method.upper()} {PATH_PARAM.sub('{}', path)}"


def documented_endpoints() -> list[str]:
    return [endpoint(method, path) for method, path in ENDPOINT_HEADING.findall(doc_text())]


def schema_endpoints() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        endpoint(method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }


def section(text: str, title: str) -> str:
    """The body of the `## title` section, up to the next second-level heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/API.md has no '## {title}' section"
    return match.group(1)


def as_documented(code: str) -> str:
    """Codes that name the field out of its bounds are documented once, as `<field>_out_of_range`."""
    return re.sub(r"^\w+_out_of_range$", "<field>_out_of_range", code)


def documented_error_codes() -> set[str]:
    """Every `code` in the first column of the tables of the Errors section."""
    codes = set()
    for line in section(doc_text(), "Errors").splitlines():
        if line.startswith("| `"):
            codes.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return codes


def source_files() -> Iterator[Path]:
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def parsed_sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))) for path in source_files()]


def name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def domain_error_codes() -> dict[str, str]:
    """code -> where, for every DomainError subclass's `code` and every `code="..."` passed to one."""
    trees = parsed_sources()
    classes = {
        node.name: (path, node) for path, tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
    }
    family = {"DomainError"}
    grown = True
    while grown:
        grown = False
        for name, (_, node) in classes.items():
            if name not in family and any(name_of(base) in family for base in node.bases):
                family.add(name)
                grown = True

    codes: dict[str, str] = {}
    for name in family:
        path, node = classes[name]
        for statement in node.body:
            targets = statement.targets if isinstance(statement, ast.Assign) else []
            if isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            value = getattr(statement, "value", None)
            if any(name_of(t) == "code" for t in targets) and isinstance(value, ast.Constant):
                codes[value.value] = f"{path.relative_to(ROOT)}: class {name}"
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and name_of(node.func) in family:
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes[keyword.value.value] = f"{path.relative_to(ROOT)}:{node.lineno}: {name_of(node.func)}"
    return codes


def error_body_codes() -> dict[str, str]:
    """code -> where, for every `error_body(type, code, ...)` the server answers with."""
    codes = {}
    for path, tree in parsed_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and name_of(node.func) == "error_body" and len(node.args) >= 2:
                code = node.args[1]
                if isinstance(code, ast.Constant):  # else it is the validation mapping's, checked on its own below
                    codes[code.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return codes


def validation_error_codes() -> dict[str, str]:
    """code -> where, for every code the API's own validation chooses (`ErrorDetail(..., code=...)`,
    `ValidationError(..., code=...)`), as config/api_errors.py maps it for a field named `total`."""
    codes = {}
    for path, tree in parsed_sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and name_of(node.func) in {"ErrorDetail", "ValidationError"}):
                continue
            given = [k.value for k in node.keywords if k.arg == "code"]
            if name_of(node.func) == "ErrorDetail" and len(node.args) >= 2:
                given.append(node.args[1])
            for code in given:
                if isinstance(code, ast.Constant):
                    codes[_validation_code("total", code.value)] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return codes


def all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *all_subclasses(direct)}}


# --- endpoints -------------------------------------------------------------------------------------------


def test_every_operation_of_the_schema_is_documented():
    documented = set(documented_endpoints())

    undocumented = sorted(schema_endpoints() - documented)

    assert undocumented == [], f"in the OpenAPI schema but without a heading in docs/API.md: {undocumented}"


def test_every_documented_api_endpoint_is_an_operation_of_the_schema():
    api_headings = {e for e in documented_endpoints() if e.split(" ", 1)[1].startswith("/api/")}

    unknown = sorted(api_headings - schema_endpoints())

    assert unknown == [], f"headed in docs/API.md but not in the OpenAPI schema: {unknown}"


@pytest.mark.django_db
def test_documented_endpoints_outside_the_api_are_answered_by_the_server(client):
    outside = [e.split(" ", 1)[1] for e in documented_endpoints() if not e.split(" ", 1)[1].startswith("/api/")]
    assert outside, "docs/API.md documents the health checks"

    # The health checks are answered by middleware before URL routing, so ask the server, not the resolver.
    missing = [path for path in outside if client.get(path).status_code == 404]

    assert missing == [], f"documented in docs/API.md but the server does not answer: {missing}"


def test_each_endpoint_is_documented_once():
    headings = documented_endpoints()

    assert sorted(h for h in set(headings) if headings.count(h) > 1) == []


# --- error codes -------------------------------------------------------------------------------------------


def test_every_domain_error_code_is_in_the_error_tables():
    codes = domain_error_codes()
    assert {"insufficient_points", "total_mismatch", "member_exists"} <= codes.keys()  # the scan finds them

    documented = documented_error_codes()

    missing = {code: where for code, where in sorted(codes.items()) if as_documented(code) not in documented}

    assert missing == {}, f"error codes raised by the code but missing from docs/API.md's error tables: {missing}"


def test_the_scan_sees_every_domain_error_class_python_knows():
    """The source scan and the imported classes agree, so no subclass escapes the check above by the way it
    is written (an alias, a dynamic base)."""
    scanned = domain_error_codes()

    assert {cls.code for cls in all_subclasses(DomainError)} | {DomainError.code} <= scanned.keys()


def test_every_error_body_code_is_in_the_error_tables():
    codes = error_body_codes()
    assert {"malformed_json", "body_too_large", "rate_limited", "database_unavailable"} <= codes.keys()

    documented = documented_error_codes()

    missing = {code: where for code, where in sorted(codes.items()) if as_documented(code) not in documented}

    assert missing == {}, f"error codes answered by the server but missing from docs/API.md's error tables: {missing}"


@pytest.mark.parametrize("drf_code", DRF_CODES)
def test_every_validation_code_is_in_the_error_tables(drf_code):
    """A field `total` refused for `drf_code` answers the code config/api_errors.py maps it to."""
    assert as_documented(_validation_code("total", drf_code)) in documented_error_codes()


def test_every_code_the_api_validation_chooses_is_in_the_error_tables():
    codes = validation_error_codes()
    assert {"missing_field", "total_out_of_range"} <= codes.keys()  # the scan finds them
    documented = documented_error_codes()

    missing = {code: where for code, where in sorted(codes.items()) if as_documented(code) not in documented}

    assert missing == {}, f"validation codes answered by the server but missing from docs/API.md: {missing}"


def test_the_lines_bound_has_its_own_code_in_the_error_tables():
    assert _validation_code("lines", "max_length") in documented_error_codes()


# --- the document stands alone -------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_link_inside_the_document_resolves():
    text = doc_text()
    anchors = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}

    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)

    assert broken == []


def test_the_code_of_a_host_outside_allowed_hosts_is_in_the_error_tables():
    """A Host outside ALLOWED_HOSTS is refused by Django before any view; config/middleware.py shapes the answer
    with a code taken from the status's phrase (`bad_request`), which the error tables did not list."""
    r = Client(HTTP_HOST="evil.example").get("/api/v1/transactions", secure=True)

    assert r.status_code == 400
    assert r.json()["error"]["code"] in documented_error_codes()
