"""The subscriptions API: plans, subscribing, payments (idempotent on external_id, amount and currency
checked), the renewal bonus once per period, cancellation, and the refusals, which write nothing."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.ledger.models import LedgerEntry
from loyalty.program.loading import ProgramFileError, program_load
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionPayment
from members.models import Member
from tests.factories import MemberFactory
from tests.support.api import balance
from tests.support.subscriptions import GRACE, PLAN_ITEMS, PLANS, SUBSCRIPTIONS, bonus_entries, fresh, moves, snapshot


def subscribe_api(api, member, plan="plus", **headers):
    return api.post(SUBSCRIPTIONS, {"member": member.public_id, "plan": plan}, **headers)


def payment_body(external_id="pay-1", amount="4.99", currency="EUR", status="succeeded"):
    return {"external_id": external_id, "amount": amount, "currency": currency, "status": status}


def pay_api(api, subscription_id, **fields):
    return api.post(f"{SUBSCRIPTIONS}/{subscription_id}/payments", payment_body(**fields))


def cancel_api(api, subscription_id, at_period_end):
    return api.post(f"{SUBSCRIPTIONS}/{subscription_id}/cancel", {"at_period_end": at_period_end})


def error_of(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["code"]


@pytest.fixture
def sub_id(api, member, plans) -> str:
    response = subscribe_api(api, member)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def rows_of(body):
    return body["results"] if isinstance(body, dict) else body


def test_plans_list_active_plans(api, plans):
    program_load({"plans": [{**PLAN_ITEMS[2], "active": False}]})
    response = api.get(PLANS)
    assert response.status_code == 200
    assert rows_of(response.json()) == [
        {"code": "plus", "name": "Plus", "price": "4.99", "currency": "EUR", "interval": "month", "trial_days": 0,
         "multiplier": "2.0000", "renewal_bonus": 100, "perks": ["free_express_shipping"]},
        {"code": "trial", "name": "Trial", "price": "9.99", "currency": "EUR", "interval": "month", "trial_days": 14,
         "multiplier": "1.5000", "renewal_bonus": 50, "perks": ["lounge"]},
    ]  # fmt: skip


def test_plans_list_is_a_cursor_page(api, plans):
    """docs/API.md, Conventions: "Lists use cursor pagination: {"results": [...], "next": "<url or null>"}", as
    GET /rewards, /transactions and /members/{id}/entries answer. GET /plans answers a bare array."""
    body = api.get(PLANS).json()
    assert isinstance(body, dict), f"GET /api/v1/plans answered a bare list, not a cursor page: {body!r}"
    assert body["next"] is None
    assert sorted(row["code"] for row in body["results"]) == ["annual", "plus", "trial"]


def test_subscribe_without_trial_is_incomplete(api, member, plans):
    before = timezone.now()
    response = subscribe_api(api, member)
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("sub")
    assert {k: body[k] for k in ("member", "plan", "status", "cancel_at_period_end")} == {
        "member": member.public_id, "plan": "plus", "status": "incomplete", "cancel_at_period_end": False,
    }  # fmt: skip
    start = dt.datetime.fromisoformat(body["current_period_start"])
    assert before <= start <= timezone.now()


def test_subscribe_with_trial_is_trialing_for_the_trial_days(api, member, plans):
    body = subscribe_api(api, member, "trial").json()
    assert body["status"] == "trialing"
    start, end = (dt.datetime.fromisoformat(body[k]) for k in ("current_period_start", "current_period_end"))
    assert end - start == dt.timedelta(days=14)


def test_second_live_subscription_is_refused(api, member, plans, sub_id):
    before = snapshot()
    response = subscribe_api(api, member, "trial")
    assert error_of(response) == (422, "business_rule", "invalid_state")
    assert snapshot() == before


def test_a_new_subscription_after_the_old_one_ended(api, member, plans, sub_id):
    assert cancel_api(api, sub_id, False).status_code == 200
    response = subscribe_api(api, member, "trial")
    assert response.status_code == 201
    assert response.json()["id"] != sub_id


@pytest.mark.parametrize("plan", ["nope", "annual-off"])
def test_unknown_or_inactive_plan_is_404(api, member, plans, plan):
    program_load({"plans": [{**PLAN_ITEMS[2], "code": "annual-off", "active": False}]})
    before = snapshot()
    assert error_of(subscribe_api(api, member, plan))[:2] == (404, "not_found")
    assert snapshot() == before


def test_inactive_member_cannot_subscribe(api, member, plans):
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    before = snapshot()
    assert error_of(subscribe_api(api, member)) == (422, "business_rule", "member_inactive")
    assert snapshot() == before


def test_unknown_member_is_404(api, plans):
    assert subscribe_api(api, MemberFactory.build(public_id="mem_missing")).status_code == 404


def test_first_payment_activates_and_credits_the_bonus(api, member, sub_id):
    response = pay_api(api, sub_id)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "succeeded" and body["renewal_bonus_points"] == 100
    assert (body["amount"], body["currency"], body["external_id"]) == ("4.99", "EUR", "pay-1")
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["current_period_end"] == body["period_end"]
    start, end = (dt.datetime.fromisoformat(body[k]) for k in ("period_start", "period_end"))
    assert 28 <= (end - start).days <= 31
    assert bonus_entries(member) == [100]
    assert balance(member)[0] == 100


def test_replayed_payment_changes_nothing_and_answers_the_same_body(api, member, sub_id):
    first = pay_api(api, sub_id)
    before = snapshot()
    again = pay_api(api, sub_id)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert snapshot() == before
    assert bonus_entries(member) == [100]


def test_replay_with_an_idempotency_key_replays(api, member, sub_id):
    path = f"{SUBSCRIPTIONS}/{sub_id}/payments"
    first = api.post(path, payment_body(), idempotency_key="k-1")
    again = api.post(path, payment_body(), idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert bonus_entries(member) == [100]


@pytest.mark.parametrize("changed", [{"status": "failed"}, {"amount": "5.00"}])
def test_same_external_id_different_body_is_409(api, member, sub_id, changed):
    pay_api(api, sub_id)
    before = snapshot()
    response = pay_api(api, sub_id, **changed)
    assert error_of(response) == (409, "conflict", "idempotency_conflict")
    assert snapshot() == before


def test_same_external_id_on_another_subscription_is_409(api, plans, sub_id):
    pay_api(api, sub_id)
    other = subscribe_api(api, MemberFactory()).json()["id"]
    before = snapshot()
    assert error_of(pay_api(api, other))[:2] == (409, "conflict")
    assert snapshot() == before


def test_amount_mismatch_is_400_and_writes_nothing(api, sub_id):
    before = snapshot()
    assert error_of(pay_api(api, sub_id, amount="4.98")) == (400, "invalid_request", "amount_mismatch")
    assert snapshot() == before
    assert pay_api(api, sub_id).status_code == 201  # the external_id was not used up


def test_currency_mismatch_is_422_and_writes_nothing(api, sub_id):
    before = snapshot()
    assert error_of(pay_api(api, sub_id, currency="USD")) == (422, "business_rule", "unsupported_currency")
    assert snapshot() == before
    assert pay_api(api, sub_id).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "4.99", "currency": "EUR", "status": "succeeded"},
        {"external_id": "x", "amount": "4.99", "currency": "EUR", "status": "refunded"},
        {"external_id": "x", "amount": "4.999", "currency": "EUR", "status": "succeeded"},
        {"external_id": "x", "amount": "-4.99", "currency": "EUR", "status": "succeeded"},
    ],
)
def test_invalid_payment_bodies_are_400(api, sub_id, body):
    before = snapshot()
    response = api.post(f"{SUBSCRIPTIONS}/{sub_id}/payments", body)
    assert error_of(response)[:2] == (400, "invalid_request")
    assert snapshot() == before


def test_two_succeeded_payments_are_two_periods_and_two_bonuses(api, member, sub_id):
    first = pay_api(api, sub_id, external_id="p1").json()
    second = pay_api(api, sub_id, external_id="p2").json()
    assert second["period_start"] == first["period_end"]
    assert second["subscription"]["current_period_end"] == second["period_end"]
    for _ in range(2):
        assert pay_api(api, sub_id, external_id="p1").status_code == 200
        assert pay_api(api, sub_id, external_id="p2").status_code == 200
    assert bonus_entries(member) == [100, 100]
    entries = LedgerEntry.objects.filter(account__member=member, kind="bonus")
    assert all(e.shop.code == "shop-a" for e in entries)
    assert balance(member) == (200, 0, 0)
    assert SubscriptionPayment.objects.filter(subscription__public_id=sub_id).count() == 2


def test_failed_payment_credits_nothing(api, member, sub_id):
    pay_api(api, sub_id, external_id="p1")
    body = pay_api(api, sub_id, external_id="f1", status="failed").json()
    assert body["renewal_bonus_points"] == 0 and body["period_start"] is None
    assert body["subscription"]["status"] == "past_due"
    assert bonus_entries(member) == [100]


def test_plan_without_bonus_credits_no_entry(api, member, plans):
    program_load({"plans": [{**PLAN_ITEMS[0], "renewal_bonus": 0}]})
    sub = subscribe_api(api, member).json()["id"]
    assert pay_api(api, sub).json()["renewal_bonus_points"] == 0
    assert bonus_entries(member) == []


@pytest.mark.parametrize("end", ["canceled", "expired"])
@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_payment_on_an_ended_subscription_is_refused(api, member, sub_id, end, status):
    if end == "canceled":
        assert cancel_api(api, sub_id, False).status_code == 200
    else:
        renew_subscriptions(now=timezone.now() + GRACE + dt.timedelta(seconds=1))
    assert Subscription.objects.get(public_id=sub_id).status == end
    before = snapshot()
    response = pay_api(api, sub_id, external_id="late", status=status)
    assert error_of(response) == (422, "business_rule", "invalid_state")
    assert snapshot() == before


def test_cancel_now(api, member, sub_id):
    pay_api(api, sub_id)
    response = cancel_api(api, sub_id, False)
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert api.get(f"/api/v1/members/{member.public_id}").json()["subscription"] is None


def test_cancel_twice_is_refused(api, sub_id):
    assert cancel_api(api, sub_id, False).status_code == 200
    before = snapshot()
    for at_period_end in (False, True):
        assert error_of(cancel_api(api, sub_id, at_period_end)) == (422, "business_rule", "invalid_state")
    assert snapshot() == before


def test_cancel_at_period_end_keeps_it_active(api, member, sub_id):
    paid = pay_api(api, sub_id).json()
    response = cancel_api(api, sub_id, True)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancel_at_period_end"]) == ("active", True)
    assert body["current_period_end"] == paid["period_end"]
    sub = Subscription.objects.get(public_id=sub_id)
    assert moves(sub)[-1] == ("incomplete", "active", "payment_succeeded")  # no move until the period ends
    renew_subscriptions(now=sub.current_period_end)
    assert fresh(sub).status == "canceled"
    assert moves(sub)[-1] == ("active", "canceled", "canceled_at_period_end")


def test_cancel_at_period_end_is_the_default(api, sub_id):
    pay_api(api, sub_id)
    response = api.post(f"{SUBSCRIPTIONS}/{sub_id}/cancel", {})
    assert (response.json()["status"], response.json()["cancel_at_period_end"]) == ("active", True)


def test_cancel_at_period_end_then_now(api, sub_id):
    pay_api(api, sub_id)
    cancel_api(api, sub_id, True)
    assert cancel_api(api, sub_id, False).json()["status"] == "canceled"


def test_another_shops_subscription_is_404(api, other_api, member, sub_id):
    before = snapshot()
    for response in (
        other_api.get(f"{SUBSCRIPTIONS}/{sub_id}"),
        pay_api(other_api, sub_id),
        cancel_api(other_api, sub_id, False),
    ):
        assert error_of(response)[:2] == (404, "not_found")
    assert snapshot() == before
    assert api.get(f"{SUBSCRIPTIONS}/{sub_id}").status_code == 200


def test_get_subscription(api, member, sub_id):
    body = api.get(f"{SUBSCRIPTIONS}/{sub_id}").json()
    assert (body["id"], body["member"], body["plan"], body["status"]) == (
        sub_id,
        member.public_id,
        "plus",
        "incomplete",
    )


def test_missing_scope_is_403(api_for, shop, member, plans):
    limited = api_for(shop, scopes=["members:read"])
    response = subscribe_api(limited, member)
    assert error_of(response)[:2] == (403, "permission_error")


def test_member_object_shows_the_live_subscription(api, member, sub_id):
    path = f"/api/v1/members/{member.public_id}"
    assert api.get(path).json()["subscription"] == {
        "id": sub_id, "plan": "plus", "status": "incomplete",
        "current_period_end": Subscription.objects.get(public_id=sub_id).current_period_end.isoformat().replace(
            "+00:00", "Z"
        ),
    }  # fmt: skip
    paid = pay_api(api, sub_id).json()
    summary = api.get(path).json()["subscription"]
    assert (summary["status"], summary["current_period_end"]) == ("active", paid["period_end"])
    assert api.get(f"/api/v1/members/{MemberFactory().public_id}").json()["subscription"] is None


# --- load_program's plans section -----------------------------------------------------------------------


def test_load_program_creates_plans_and_reloading_changes_nothing(program):
    report = program_load({"plans": PLAN_ITEMS})
    assert (report.sections["plans"].created, report.sections["plans"].updated) == (3, 0)
    stored = list(Plan.objects.order_by("code").values())
    again = program_load({"plans": PLAN_ITEMS})
    assert (again.sections["plans"].created, again.sections["plans"].updated, again.sections["plans"].unchanged) == (
        0, 0, 3,
    )  # fmt: skip
    assert list(Plan.objects.order_by("code").values()) == stored
    plus = Plan.objects.get(code="plus")
    assert (plus.price, plus.currency, plus.interval, plus.multiplier, plus.renewal_bonus, plus.perks) == (
        Decimal("4.99"), "EUR", "month", Decimal("2"), 100, ["free_express_shipping"],
    )  # fmt: skip
    changed = program_load({"plans": [{**PLAN_ITEMS[0], "renewal_bonus": 150}]})
    assert changed.sections["plans"].updated == 1
    assert Plan.objects.get(code="plus").renewal_bonus == 150
    assert Plan.objects.get(code="plus").pk == plus.pk
    with pytest.raises(ProgramFileError):
        program_load({"plans": [{**PLAN_ITEMS[0], "price": "0"}]})
    with pytest.raises(ProgramFileError):
        program_load({"plans": [{**PLAN_ITEMS[0], "interval": "week"}]})
    assert Plan.objects.get(code="plus").renewal_bonus == 150


def test_load_program_command_with_plans_is_idempotent(program, tmp_path):
    path = tmp_path / "program.json"
    path.write_text(json.dumps({"plans": PLAN_ITEMS}))
    call_command("load_program", str(path), stdout=io.StringIO())
    stored = list(Plan.objects.order_by("code").values())
    call_command("load_program", str(path), stdout=io.StringIO())
    assert list(Plan.objects.order_by("code").values()) == stored
    assert len(stored) == 3


def test_plan_multiplier_change_applies_to_the_next_purchase(api, member, sub_id):
    pay_api(api, sub_id)
    program_load({"plans": [{**PLAN_ITEMS[0], "multiplier": "3"}]})
    order = {"member": member.public_id, "currency": "EUR", "total": "10.00", "external_id": "o-1"}
    assert api.post("/api/v1/transactions", order).json()["breakdown"] == [
        {"source": "base", "points": 10}, {"source": "plan:plus", "points": 20},
    ]  # fmt: skip
