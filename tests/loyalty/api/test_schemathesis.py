"""Schemathesis against the checkout API, in-process over WSGI, with every check schemathesis has: for every
operation of the OpenAPI schema the app serves at /api/schema/, generated requests (valid and invalid ones)
must never get a 5xx; every response must have a documented status code, content type, headers and body;
a request the schema calls valid must be accepted (positive data acceptance: 2xx, or 404/409/422 where the
objects or the program's rules decide) and one it calls invalid must be refused (negative data rejection).
So the schema says exactly what the server takes.

Bounded and deterministic so it runs in both CI databases: `derandomize=True`, at most MAX_EXAMPLES
generated requests per operation on top of schemathesis' coverage cases. The requests carry a key with
every scope. Valid (positive) cases are pointed at real objects (a member with points, one of its
transactions, a hold) and get what no schema can say (amounts that add up, an occurred_at relative to now,
one lookup identifier, no forged cursor), so the success paths and their response schemas are exercised
too, not only 400s and 404s. The suite-wide ledger_verify() runs after each operation's test.

Below the generated tests, explicit cases (production bugs found by probing beside the fuzzing, which the
bounded run does not reach), sent and checked by schemathesis the same way.
"""

import datetime as dt
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from config.wsgi import application
from loyalty.earning.services import transaction_create
from loyalty.holds.services import hold_create
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from tests.factories import MemberFactory
from tests.support.api import PROGRAM

MAX_EXAMPLES = 60
HTTPS = {"X-Forwarded-Proto": "https"}  # SECURE_SSL_REDIRECT is on without DEBUG; the proxy header says https

# Valid data may still be refused by what no schema can say: an unknown id (404), a duplicate (409), or a
# business rule such as a balance too low or a hold already captured (422 `business_rule`). Invalid data may
# also be refused by the API's own URL limit (414 `uri_too_long`, docs/API.md) before any parameter is read.
NEGATIVE_DATA_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
            "negative_data_rejection": {"expected-statuses": NEGATIVE_DATA_REJECTED},
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG, headers=HTTPS)
_world_key: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class WorldKey:
    """The world's API key on every generated request, except where schemathesis leaves the key out on
    purpose (then the API must answer 401); explicit headers would override that."""

    def get(self, case, context) -> str | None:
        return _world_key.get("raw")

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def _keep_the_test_connection():
    """Django closes the connection when a request starts or ends outside autocommit, which the test's own
    transaction never is; Django's test client unhooks that for its requests, and so does this."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, _keep_the_test_connection) -> dict:
    """A program, a key with every scope, and real objects for valid cases to name."""
    cache.clear()  # the per-key request counters: a key id reused by an earlier test must not be throttled
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})
    shop = Shop.objects.get(code="shop-a")
    _, raw_key = api_key_create(shop=shop, scopes=list(ApiKey.SCOPES))
    _world_key["raw"] = raw_key
    member = MemberFactory()
    now = timezone.now()
    points_credit(member=member, points=5000, now=now)
    hold = hold_create(shop=shop, member=member, points=100, external_id="seed-hold", fingerprint="-", now=now).hold
    txn = transaction_create(
        shop=shop, member=member, external_id="seed-txn", currency="EUR", total=Decimal("1000.00"),
        occurred_at=None, lines=None, fingerprint="-", now=now,
    ).transaction  # fmt: skip
    return {
        "headers": {"Authorization": f"Bearer {raw_key}", **HTTPS},
        "member": member,
        "path": {"member_id": member.public_id, "transaction_id": txn.public_id, "hold_id": hold.public_id},
    }


def _money(raw: object, *, cap: Decimal, at_least: Decimal = Decimal(0)) -> str:
    """A generated amount made acceptable: at_least..cap with EUR's two places (the schema allows three, the
    most any currency has, and cannot tie the places to the body's currency)."""
    try:
        amount = abs(Decimal(str(raw)))
    except InvalidOperation:
        amount = Decimal("25")
    amount = (amount % cap).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return str(max(amount, at_least))


def _purchase(body: dict, world: dict) -> None:
    if "card_number" in body and "member" not in body:
        body["card_number"] = world["member"].card_number
    else:
        body.pop("card_number", None)
        body["member"] = world["member"].public_id
    body["currency"] = "EUR"
    if "occurred_at" in body:  # within max_backdate_days and not in the future: relative to now, beyond a schema
        body["occurred_at"] = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    lines = body.get("lines")
    if isinstance(lines, list) and lines and all(isinstance(line, dict) for line in lines):
        for line in lines:
            line["unit_price"] = _money(line.get("unit_price"), cap=Decimal(1000))
            line["quantity"] = min(line.get("quantity", 1), 10)  # so the lines' sum stays within the bound
        body["total"] = str(sum(Decimal(line["unit_price"]) * line.get("quantity", 1) for line in lines))
    else:
        body["total"] = _money(body.get("total"), cap=Decimal(10_000))


def _aim_at_real_objects(case, world: dict) -> None:
    """Valid cases name the real member, transaction and hold, the program's currency and amounts it
    accepts; invalid cases keep whatever was generated."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    for name, value in world["path"].items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    if case.query:
        case.query.pop("cursor", None)  # opaque: only one a page's `next` link gave is valid
    if case.operation.label == "GET /api/v1/members/lookup":  # "exactly one of" is beyond a query's schema
        identifiers = [name for name in ("card_number", "email", "phone") if name in (case.query or {})]
        for name in identifiers[1:]:
            case.query.pop(name)
        if not identifiers:
            case.query = {**(case.query or {}), "email": world["member"].email}
    body = case.body
    if not isinstance(body, dict):
        return
    label = case.operation.label
    if label in {"POST /api/v1/transactions", "POST /api/v1/transactions/preview"}:
        _purchase(body, world)
    elif label == "POST /api/v1/transactions/{transaction_id}/refunds":
        body["amount"] = _money(body.get("amount"), cap=Decimal(300), at_least=Decimal("0.01"))
    elif label == "POST /api/v1/holds":
        body["member"] = world["member"].public_id
    elif label == "POST /api/v1/members":
        local = re.sub(r"[^a-z0-9]", "", str(body.get("email", "")).lower())[:40] or "fuzz"
        body["email"] = f"{local}@example.com"
        body.pop("card_number", None)  # a random one fails its check digit
        if body.get("birth_date"):
            body["birth_date"] = "1990-01-31"  # 1900-01-01 to today, which a schema cannot say
        if body.get("referral_code"):
            body["referral_code"] = world["member"].referral_code


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_schema_and_never_fails(case, world):
    _aim_at_real_objects(case, world)
    case.call_and_validate(headers=HTTPS)  # every check; the key comes from WorldKey


# --- explicit cases ---------------------------------------------------------------------------------------

NUL = "a\x00b"  # PostgreSQL cannot store or compare text with a NUL byte; SQLite can


def _nul_case(method: str, path: str, **parameters):
    query = "".join(f"?{name}" for name in parameters.get("query", {}))
    body = "".join(f" {{{name}}}" for name in parameters.get("body", {}) if NUL in parameters["body"][name])
    return pytest.param(method, path, parameters, id=f"{method} {path.removeprefix('/api/v1/')}{query}{body}")


@pytest.mark.parametrize(
    ("method", "path", "parameters"),
    [
        _nul_case("GET", "/api/v1/members/{member_id}", path_parameters={"member_id": NUL}),
        _nul_case("GET", "/api/v1/members/{member_id}/entries", path_parameters={"member_id": NUL}),
        _nul_case("GET", "/api/v1/members/lookup", query={"email": NUL}),
        _nul_case("GET", "/api/v1/members/lookup", query={"card_number": NUL}),
        _nul_case("GET", "/api/v1/transactions/{transaction_id}", path_parameters={"transaction_id": NUL}),
        _nul_case(
            "POST",
            "/api/v1/transactions/{transaction_id}/refunds",
            path_parameters={"transaction_id": NUL},
            body={"external_id": "r-1", "amount": "1.00"},
        ),
        _nul_case("GET", "/api/v1/holds/{hold_id}", path_parameters={"hold_id": NUL}),
        _nul_case("POST", "/api/v1/holds/{hold_id}/capture", path_parameters={"hold_id": NUL}, body={}),
        _nul_case("POST", "/api/v1/holds/{hold_id}/void", path_parameters={"hold_id": NUL}),
        # These two are refused by the serializers already (400 null_characters_not_allowed):
        _nul_case("POST", "/api/v1/members", body={"email": f"x{NUL}@example.com"}),
        _nul_case("GET", "/api/v1/transactions", query={"member": NUL}),
    ],
)
def test_a_nul_byte_in_an_id_or_a_lookup_is_a_4xx_not_a_500(world, method, path, parameters):
    """An id or lookup value with a NUL byte names nothing: 404 (or 400), never a 500 from the database."""
    case = schema[path][method].Case(**parameters)
    case.call_and_validate(headers=world["headers"])


@pytest.mark.parametrize("phone", ["abc", " "])
def test_a_phone_lookup_without_digits_finds_nobody(world, phone):
    """A member enrolled without a phone must not be what a lookup of a phone with no digits returns."""
    MemberFactory()  # enrolled without a phone, like the world's member
    case = schema["/api/v1/members/lookup"]["GET"].Case(query={"phone": phone})
    response = case.call_and_validate(headers=world["headers"])
    assert response.status_code in {400, 404}, response.json()
