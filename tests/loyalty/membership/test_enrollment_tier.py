"""A member is in the highest tier they qualify for from enrollment on: the base tier (threshold 0) before
any purchase. Enrolling opens the account in it; a member without an account row yet shows it; loading
tiers later, and `recalculate_tiers`, place members who hold none.

Tiers: bronze from 0 (×1.5), silver from 500 (×2); one point per EUR.
"""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from loyalty.earning.models import Transaction
from loyalty.ledger.models import Account
from loyalty.program.loading import program_load
from loyalty.tiers.jobs import recalculate_tiers
from loyalty.tiers.models import TierChange
from members.models import Member
from tests.factories import MemberFactory
from tests.support.api import purchase

pytestmark = pytest.mark.django_db

YEAR = dt.timedelta(days=365)
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1.5"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "2"},
]
BRONZE = {"code": "bronze", "name": "Bronze", "multiplier": "1.5000"}


@pytest.fixture
def tiers(program):
    program_load({"tiers": TIERS})


def tier_of(body: dict) -> tuple[dict | None, dt.datetime | None]:
    """(the tier without its validity, valid_until parsed) of a member or transaction body."""
    tier = body["tier"]
    if tier is None:
        return None, None
    valid_until = dt.datetime.fromisoformat(tier["valid_until"]) if tier["valid_until"] else None
    return {key: value for key, value in tier.items() if key != "valid_until"}, valid_until


def changes(member: Member) -> list[tuple]:
    rows = TierChange.objects.filter(account__member=member).order_by("pk")
    return list(rows.values_list("from_tier__code", "to_tier__code", "reason", "qualifying_points"))


def test_an_enrolled_member_is_in_the_base_tier_before_any_purchase(api, tiers):
    r = api.post("/api/v1/members", {"email": "ada@example.com"})

    assert r.status_code == 201, r.content
    member = Member.objects.get()
    assert tier_of(r.json()) == (BRONZE, member.enrolled_at + YEAR)
    assert tier_of(api.get(f"/api/v1/members/{member.public_id}").json()) == (BRONZE, member.enrolled_at + YEAR)
    account = Account.objects.get(member=member)
    assert (account.tier.code, account.available, account.pending, account.held) == ("bronze", 0, 0, 0)
    assert changes(member) == [(None, "bronze", "upgrade", 0)]


def test_the_first_purchase_earns_at_the_base_tier_held_since_enrollment(api, tiers):
    member_id = api.post("/api/v1/members", {"email": "ada@example.com"}).json()["id"]
    member = Member.objects.get(public_id=member_id)

    r = api.post("/api/v1/transactions", purchase(member, total="10.00"))

    assert r.status_code == 201, r.content
    assert (r.json()["points"], r.json()["breakdown"]) == (
        15, [{"source": "base", "points": 10}, {"source": "tier:bronze", "points": 5}],
    )  # fmt: skip
    assert changes(member) == [(None, "bronze", "upgrade", 0)]  # no second move into the tier it held


def test_a_member_without_an_account_row_shows_the_base_tier_and_the_look_up_writes_nothing(api, tiers):
    member = MemberFactory()  # enrolled by the service alone: no account row

    body = api.get(f"/api/v1/members/{member.public_id}").json()

    assert tier_of(body) == (BRONZE, None)  # held, its validity not yet recorded
    assert not Account.objects.filter(member=member).exists()
    # Its purchases earn at it too, as the preview shows.
    preview = api.post("/api/v1/transactions/preview", purchase(member, total="10.00"))
    assert preview.status_code == 200 and preview.json()["points"] == 15


def test_loading_tiers_later_places_members_who_hold_none_in_the_base_tier(api, program, tmp_path):
    enrolled = Member.objects.get(public_id=api.post("/api/v1/members", {"email": "a@example.com"}).json()["id"])
    bought = MemberFactory()
    assert api.post("/api/v1/transactions", purchase(bought, total="600.00")).status_code == 201
    without_account = MemberFactory()
    assert Account.objects.get(member=enrolled).tier is None  # no tiers when they enrolled
    program_file = tmp_path / "program.json"
    program_file.write_text(json.dumps({"tiers": TIERS}))
    out = io.StringIO()

    call_command("load_program", str(program_file), stdout=out)

    assert out.getvalue().splitlines()[-1] == (
        "recalculate_tiers: 1 accounts opened, 3 upgrades (3 accounts in 1 chunks)"
    )  # fmt: skip
    placed = dict(Account.objects.values_list("member_id", "tier__code"))
    assert placed == {enrolled.pk: "bronze", bought.pk: "silver", without_account.pk: "bronze"}
    assert changes(without_account) == [(None, "bronze", "upgrade", 0)]
    assert changes(bought) == [(None, "silver", "upgrade", 600)]
    assert tier_of(api.get(f"/api/v1/members/{enrolled.public_id}").json())[0] == BRONZE

    # The same file again changes no tier, so it places nobody again.
    again = io.StringIO()
    call_command("load_program", str(program_file), stdout=again)
    assert "recalculate_tiers" not in again.getvalue()
    assert TierChange.objects.count() == 3


def test_recalculate_tiers_opens_an_account_in_the_base_tier_for_a_member_without_one(tiers, now):
    member = MemberFactory()

    run = recalculate_tiers(now=now)

    assert run.counts == {"accounts_opened": 1, "upgrades": 1}
    account = Account.objects.get(member=member)
    assert (account.tier.code, account.tier_valid_until) == ("bronze", now + YEAR)
    assert recalculate_tiers(now=now).counts == {}
    assert not Transaction.objects.exists()
