import json
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.earning.models import Campaign
from loyalty.program.loading import ProgramFileError, program_file_read, program_load
from loyalty.program.models import Program
from loyalty.shops.models import Shop
from loyalty.tiers.models import Tier

REPO = Path(__file__).resolve().parents[3]

PROGRAM = {
    "name": "Demo",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 0,
    "expiry": {"policy": "rolling", "months": 24},
    "max_backdate_days": 30,
    "allow_negative_balance": True,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
    "subscription_grace_days": 7,
    "excluded_categories": ["gift_cards"],
}


def write(tmp_path: Path, document: object, name: str = "program.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def load(path: Path) -> str:
    out = StringIO()
    call_command("load_program", str(path), stdout=out, stderr=StringIO())
    return out.getvalue()


def load_refused(path: Path) -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_program", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_loads_the_program_block_and_shops_of_api_md(db, tmp_path):
    path = write(tmp_path, {"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})

    output = load(path)

    program = Program.objects.get()
    assert (program.name, program.currency) == ("Demo", "EUR")
    assert program.points_per_currency_unit == Decimal("1") and program.point_value == Decimal("0.01")
    assert (program.expiry_policy, program.expiry_months, program.expiry_years) == ("rolling", 24, None)
    assert program.allow_negative_balance is True and program.excluded_categories == ["gift_cards"]
    assert (program.max_backdate_days, program.tier_window_days, program.hold_ttl_minutes) == (30, 365, 15)
    assert program.subscription_grace_days == 7 and program.pending_days == 0
    assert list(Shop.objects.values_list("code", "name", "active")) == [("shop-a", "Shop A", True)]
    assert "program: 1 created" in output and "shops: 1 created" in output


def test_loading_twice_changes_nothing_and_writes_nothing(db, tmp_path):
    path = write(tmp_path, {"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})
    load(path)
    before = (Program.objects.get().updated_at, list(Shop.objects.values()))

    with CaptureQueriesContext(connection) as queries:
        output = load(path)

    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert (Program.objects.get().updated_at, list(Shop.objects.values())) == before
    assert "program: 0 created, 0 updated, 1 unchanged" in output
    assert "shops: 0 created, 0 updated, 1 unchanged" in output


def test_a_changed_value_updates_only_that_object(db, tmp_path):
    shops = [{"code": "shop-a", "name": "Shop A"}, {"code": "shop-b", "name": "Shop B"}]
    load(write(tmp_path, {"program": PROGRAM, "shops": shops}))

    shops[1] = {"code": "shop-b", "name": "Shop B renamed", "active": False}
    output = load(write(tmp_path, {"program": PROGRAM | {"pending_days": 14}, "shops": shops}))

    assert Program.objects.get().pending_days == 14
    assert Shop.objects.get(code="shop-b").name == "Shop B renamed"
    assert Shop.objects.get(code="shop-b").active is False
    assert "program: 0 created, 1 updated" in output and "shops: 0 created, 1 updated, 1 unchanged" in output


def test_yaml_decimals_are_read_exactly_without_floats(db, tmp_path):
    path = write(
        tmp_path,
        "program:\n  point_value: 0.1\n  points_per_currency_unit: 2.5\n  expiry: {policy: end_of_year, years: 1}\n",
        name="program.yaml",
    )

    load(path)

    program = Program.objects.get()
    assert program.point_value == Decimal("0.1") and program.points_per_currency_unit == Decimal("2.5")
    assert (program.expiry_policy, program.expiry_years, program.expiry_months) == ("end_of_year", 1, None)


def test_every_problem_is_reported_with_its_path_and_nothing_is_loaded(db, tmp_path):
    document = {
        "program": PROGRAM | {"currency": "XXX", "expiry": {"policy": "rolling"}, "colour": "red"},
        "shops": [{"code": "ok", "name": "Fine"}, {"code": "b c", "name": "Bad"}, {"name": "No code"}],
        "galaxies": [],
    }

    errors = load_refused(write(tmp_path, document))

    for expected in (
        "galaxies: unknown section",
        "program.currency:",
        "program.expiry.months: required by the rolling policy",
        "program.colour: unknown field",
        "shops[1].code:",
        "shops[2].code: This field is required.",
    ):
        assert expected in errors
    assert not Program.objects.exists() and not Shop.objects.exists()


def test_a_bad_section_keeps_the_good_ones_from_loading(db, tmp_path):
    document = {"program": PROGRAM, "shops": [{"code": "a", "name": "A"}, {"code": "a", "name": "Again"}]}

    errors = load_refused(write(tmp_path, document))

    assert "shops[1].code: appears more than once" in errors
    assert not Program.objects.exists() and not Shop.objects.exists()


@pytest.mark.parametrize(
    ("expiry", "message"),
    [
        ({"policy": "weekly"}, "program.expiry.policy:"),
        ({"policy": "never", "months": 3}, "program.expiry.months: not used by the never policy"),
        ({"policy": "end_of_year"}, "program.expiry.years: required by the end_of_year policy"),
        ({"policy": "rolling", "months": 0}, "program.expiry.months:"),
    ],
)
def test_expiry_policies_are_checked(db, tmp_path, expiry, message):
    assert message in load_refused(write(tmp_path, {"program": {"expiry": expiry}}))
    assert not Program.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pending_days", -1),
        ("pending_days", "soon"),
        ("point_value", "-0.01"),
        ("points_per_currency_unit", "1.00001"),
        ("hold_ttl_minutes", 0),
        ("excluded_categories", "gift_cards"),
    ],
)
def test_out_of_range_or_mistyped_values_are_refused(db, tmp_path, field, value):
    assert f"program.{field}:" in load_refused(write(tmp_path, {"program": {field: value}}))
    assert not Program.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"program": ', "not valid JSON"), ("[1, 2]", "must hold an object")],
)
def test_malformed_files_are_refused(db, tmp_path, content, message):
    assert message in load_refused(write(tmp_path, content))


def test_malformed_yaml_is_refused(db, tmp_path):
    assert "not valid YAML" in load_refused(write(tmp_path, "program: [unclosed", name="p.yml"))


def test_a_missing_file_is_refused_naming_the_file_plainly(db, tmp_path):
    path = tmp_path / "program.yaml"

    err = load_refused(path)

    # "<file>: cannot read the file: No such file or directory", not "$: cannot read ...: [Errno 2] ..."
    assert err == f"{path}: cannot read the file: No such file or directory\n"
    assert not Program.objects.exists()


def test_a_malformed_file_is_reported_against_its_name(db, tmp_path):
    path = write(tmp_path, '{"program": ')
    assert load_refused(path).startswith(f"{path}: not valid JSON")


def test_a_key_given_twice_is_refused_not_silently_resolved_to_the_last(db, tmp_path):
    """A repeated key is a mistake in the file (say a second `threshold`); the parsers would keep the last one."""
    json_path = write(tmp_path, '{"program": {"name": "A", "name": "B"}}')
    refused = load_refused(json_path).strip()
    assert refused == f"{json_path}: not valid JSON: the key 'name' is given twice in one object"

    yaml_path = tmp_path / "program.yaml"
    yaml_path.write_text("tiers:\n  - code: silver\n    threshold: -5\n    threshold: 500\n", encoding="utf-8")
    refused = load_refused(yaml_path)
    assert refused.startswith(f"{yaml_path}: not valid YAML") and "'threshold' is given twice" in refused
    assert not Program.objects.exists()


def test_the_demo_program_loads(db):
    load(REPO / "demo" / "program.json")
    assert Program.objects.get().name and Shop.objects.filter(code="demo-shop").exists()


def test_the_demo_program_ships_as_yaml_too_and_says_the_same(db):
    """The README says a program file may be JSON or YAML; both forms of the demo hold the same program."""
    as_json = program_file_read(REPO / "demo" / "program.json")
    as_yaml = program_file_read(REPO / "demo" / "program.yaml")
    assert as_yaml == as_json

    load(REPO / "demo" / "program.yaml")
    # The JSON form after the YAML one changes nothing.
    counts = re.findall(r"(\d+) created, (\d+) updated", load(REPO / "demo" / "program.json"))
    assert counts and all(counts_of_section == ("0", "0") for counts_of_section in counts)


CAMPAIGNS = [
    {"code": "BOOKS2X", "name": "Double points on books", "kind": "multiplier", "multiplier": "2",
     "categories": ["books"], "starts_at": None, "ends_at": None},
    {"code": "BIG-BASKET", "name": "Big basket", "kind": "fixed_bonus", "points": 50, "min_total": "100.00",
     "shops": ["shop-a"], "starts_at": "2026-01-01T00:00:00+00:00", "ends_at": "2026-02-01T00:00:00+00:00"},
]  # fmt: skip


def test_campaigns_load_with_their_filters_and_reload_unchanged(db, tmp_path):
    path = write(tmp_path, {"shops": [{"code": "shop-a", "name": "A"}], "campaigns": CAMPAIGNS})

    load(path)
    output = load(path)

    books, basket = Campaign.objects.order_by("code").reverse()
    assert (books.code, books.kind, books.multiplier, books.categories) == (
        "BOOKS2X",
        "multiplier",
        Decimal(2),
        ["books"],
    )
    assert (basket.points, basket.min_total, basket.shops) == (50, Decimal("100.00"), ["shop-a"])
    assert basket.starts_at.isoformat() == "2026-01-01T00:00:00+00:00"
    assert "campaigns: 0 created, 0 updated, 2 unchanged" in output


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        ({"kind": "multiplier"}, "campaigns[0].multiplier: required by a multiplier campaign"),
        ({"kind": "fixed_bonus"}, "campaigns[0].points: required by a fixed_bonus campaign"),
        ({"kind": "multiplier", "multiplier": "2", "points": 5}, "campaigns[0].points: not used"),
        ({"kind": "multiplier", "multiplier": "2", "shops": ["nowhere"]}, "campaigns[0].shops: unknown shop(s)"),
        ({"kind": "fixed_bonus", "points": 5, "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
         "campaigns[0].ends_at: must be after starts_at"),
        ({"kind": "raffle"}, "campaigns[0].kind:"),
    ],
)  # fmt: skip
def test_bad_campaigns_are_refused_with_their_path(db, tmp_path, campaign, message):
    document = {"program": PROGRAM, "campaigns": [{"code": "C", "name": "C", **campaign}]}

    assert message in load_refused(write(tmp_path, document))
    assert not Campaign.objects.exists() and not Program.objects.exists()


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([{"threshold": 0}, {"threshold": 0}], "tiers[1].threshold: two tiers have this threshold"),
        ([{"threshold": 0, "rank": 1}, {"threshold": 500, "rank": 1}], "tiers[1].rank: two tiers have this rank"),
        ([{"threshold": 0, "rank": 2}, {"threshold": 500, "rank": 1}], "tiers[1].rank: ranks below t0 though"),
    ],
)
def test_tier_thresholds_and_ranks_must_agree(db, tmp_path, tiers, message):
    document = {"tiers": [{"code": f"t{i}", "name": f"T{i}", "multiplier": "1", **t} for i, t in enumerate(tiers)]}

    assert message in load_refused(write(tmp_path, document))
    assert not Tier.objects.exists()


def test_the_adjustment_approval_limit_is_set_cleared_and_refused_below_zero(program):
    program_load({"program": {"adjustment_approval_points": 2000}})
    assert Program.objects.get().adjustment_approval_points == 2000
    program_load({"program": {"adjustment_approval_points": None}})
    assert Program.objects.get().adjustment_approval_points is None
    with pytest.raises(ProgramFileError) as refused:
        program_load({"program": {"adjustment_approval_points": -1}})
    assert "program.adjustment_approval_points" in str(refused.value)
