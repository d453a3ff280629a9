"""`member_erase`: what a member's erasure changes, and what it keeps (the ledger's amounts)."""

import datetime as dt
import hashlib
import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import points_adjust
from loyalty.holds.models import Hold
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.models import LedgerEntry, PointLot
from loyalty.ledger.services import points_credit
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from loyalty.subscriptions.models import Subscription, SubscriptionEvent
from members.models import Member
from privacy.services import member_erase
from rewards.models import Redemption, Reward, Voucher
from tests.factories import MemberFactory
from tests.support.api import balance, line, purchase
from tests.support.rewards import redeemed, reward_item
from tests.support.subscriptions import subscribe

ACTOR = "staff:dpo"


@pytest.fixture
def enrolled(api):
    """Ada, enrolled through the API with an Idempotency-Key (the stored answer holds her email and name)."""
    body = {"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0018",
            "birth_date": "1990-12-10", "marketing_consent": True}  # fmt: skip
    r = api.post("/api/v1/members", body, idempotency_key="enroll-ada")
    assert r.status_code == 201, r.content
    return Member.objects.get(public_id=r.json()["id"])


def test_erase_empties_every_personal_field(enrolled):
    card = enrolled.card_number
    now = timezone.now()

    erased = member_erase(member=enrolled, actor=ACTOR, now=now)

    stored = Member.objects.get(pk=enrolled.pk)
    assert stored.status == "closed" and erased.status == "closed"
    assert (stored.first_name, stored.last_name, stored.phone, stored.birth_date) == ("", "", "", None)
    assert stored.email == f"erased-{enrolled.public_id}@erased.invalid"
    assert stored.card_number == f"erased-{enrolled.pk}" and len(stored.card_number) <= 19
    assert stored.card_number_sha256 == hashlib.sha256(card.encode()).hexdigest()
    assert card not in json.dumps(Member.objects.filter(pk=enrolled.pk).values()[0], default=str)
    assert stored.marketing_consent is False and stored.marketing_consent_withdrawn_at == now
    assert stored.marketing_consent_given_at is not None  # when it was given stays: proof the consent existed
    assert (stored.erased_at, stored.erased_by) == (now, ACTOR)
    assert (stored.public_id, stored.referral_code) == (enrolled.public_id, enrolled.referral_code)


def test_placeholders_are_unique_per_member(program):
    first, second = MemberFactory(), MemberFactory()
    now = timezone.now()
    member_erase(member=first, actor=ACTOR, now=now)
    member_erase(member=second, actor=ACTOR, now=now)
    rows = list(Member.objects.filter(pk__in=[first.pk, second.pk]).values_list("email", "card_number"))
    assert len({email for email, _ in rows}) == 2 and len({card for _, card in rows}) == 2


def test_the_card_and_email_are_free_again_after_erasure(api, enrolled):
    card = enrolled.card_number
    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    r = api.post("/api/v1/members", {"email": "ada@example.com", "card_number": card})

    assert r.status_code == 201, r.content
    assert api.post("/api/v1/members/lookup", {"card_number": card}).json()["id"] == r.json()["id"]


def test_open_holds_are_released_and_resolved_ones_left(api, enrolled):
    points_credit(member=enrolled, points=500, now=timezone.now())
    open_hold = api.post("/api/v1/holds", {"member": enrolled.public_id, "points": 100, "external_id": "pay-1"})
    captured = api.post("/api/v1/holds", {"member": enrolled.public_id, "points": 50, "external_id": "pay-2"})
    assert api.post(f"/api/v1/holds/{captured.json()['id']}/capture", {}).status_code == 200
    assert balance(enrolled) == (350, 0, 100)

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    assert balance(enrolled) == (450, 0, 0)
    assert Hold.objects.get(public_id=open_hold.json()["id"]).status == "voided"
    assert Hold.objects.get(public_id=captured.json()["id"]).status == "captured"
    release = LedgerEntry.objects.get(kind="release", reference=f"hold:{open_hold.json()['id']}")
    assert release.actor == ACTOR


def test_a_hold_past_its_expiry_is_released_as_expired(api, enrolled):
    points_credit(member=enrolled, points=500, now=timezone.now())
    r = api.post("/api/v1/holds", {"member": enrolled.public_id, "points": 100, "external_id": "pay-1"})

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now() + dt.timedelta(hours=1))

    assert Hold.objects.get(public_id=r.json()["id"]).status == "expired"
    assert balance(enrolled) == (500, 0, 0)


def test_issued_vouchers_are_cancelled_and_their_points_and_stock_return(api, program, enrolled):
    program_load({"rewards": [reward_item("COFFEE", stock=5), reward_item("MUG", points_cost=100)]})
    points_credit(member=enrolled, points=1000, now=timezone.now())
    issued = redeemed(api, enrolled, "COFFEE")
    used = redeemed(api, enrolled, "MUG")
    assert api.post(f"/api/v1/vouchers/{used['voucher_code']}/use", {"external_id": "o-9"}).status_code == 200
    assert balance(enrolled) == (600, 0, 0)

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    assert Voucher.objects.get(code=issued["voucher_code"]).status == "cancelled"
    assert Redemption.objects.get(public_id=issued["id"]).status == "cancelled"
    assert Voucher.objects.get(code=used["voucher_code"]).status == "used"
    assert balance(enrolled) == (900, 0, 0)  # the unused voucher's 300 points came back; the used one's did not
    assert Reward.objects.get(code="COFFEE").stock_remaining == 5


def test_a_live_subscription_is_canceled_now_by_the_actor(program, plus, shop, enrolled):
    now = timezone.now()
    subscription = subscribe(shop, enrolled, plus, now - dt.timedelta(days=1))

    member_erase(member=enrolled, actor=ACTOR, now=now)

    subscription.refresh_from_db()
    assert subscription.status == "canceled" and subscription.ended_at == now
    event = SubscriptionEvent.objects.filter(subscription=subscription).last()
    assert (event.to_status, event.cause, event.actor) == ("canceled", "canceled", ACTOR)
    assert enrolled.account.__class__.objects.get(member=enrolled).plan_id is None


def test_the_ledger_keeps_its_amounts_and_verifies(api, enrolled):
    r = api.post("/api/v1/transactions", purchase(enrolled, total="42.50", lines=[line("42.50")]))
    assert r.status_code == 201, r.content
    before = list(LedgerEntry.objects.order_by("id").values_list("id", "points", "pending_points", "held_points"))
    lots = list(PointLot.objects.order_by("id").values_list("id", "amount", "remaining"))

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    assert (
        list(LedgerEntry.objects.order_by("id").values_list("id", "points", "pending_points", "held_points")) == before
    )
    assert list(PointLot.objects.order_by("id").values_list("id", "amount", "remaining")) == lots
    assert balance(enrolled) == (42, 0, 0)
    assert ledger_verify() == []


def test_nothing_in_the_ledger_or_transactions_names_the_person(api, enrolled):
    email, card = enrolled.email, enrolled.card_number
    points_credit(member=enrolled, points=100, now=timezone.now())
    api.post("/api/v1/transactions", purchase(enrolled, total="10.00"))
    api.post("/api/v1/holds", {"member": enrolled.public_id, "points": 10, "external_id": "pay-1"})

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    text = json.dumps(
        [list(LedgerEntry.objects.values("description", "reference", "actor")),
         list(enrolled.transactions.values("external_id", "lines", "breakdown"))], default=str,
    ).lower()  # fmt: skip
    for value in (email, card, "ada", "lovelace"):
        assert value.lower() not in text


def test_stored_idempotent_responses_show_the_erased_member(api, enrolled):
    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    stored = IdempotentRequest.objects.get(key="enroll-ada")
    text = json.dumps(stored.body).lower()
    for value in ("ada@example.com", "ada", "lovelace", "1990-12-10", "447946"):
        assert value not in text
    assert stored.body["email"] == f"erased-{enrolled.public_id}@erased.invalid"
    assert stored.body["status"] == "closed"
    # A late retry of the enrollment replays the erased member; it does not enroll the person again.
    body = {"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0018",
            "birth_date": "1990-12-10", "marketing_consent": True}  # fmt: skip
    replay = api.post("/api/v1/members", body, idempotency_key="enroll-ada")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["email"].endswith("@erased.invalid")
    assert Member.objects.count() == 1


def test_other_members_stored_responses_are_untouched(api, enrolled):
    r = api.post("/api/v1/members", {"email": "grace@example.com", "first_name": "Ada"}, idempotency_key="g")
    before = IdempotentRequest.objects.get(key="g").body

    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    assert IdempotentRequest.objects.get(key="g").body == before == r.json()


def test_staff_notes_and_admin_log_lose_the_name(api, plus, shop, enrolled):
    now = timezone.now()
    points_adjust(member=enrolled, points=50, reason="goodwill", note="Ada Lovelace called, ada@example.com",
                  actor="staff:agent", now=now)  # fmt: skip
    staff = User.objects.create_user("agent")
    LogEntry.objects.create(user=staff, content_type=ContentType.objects.get_for_model(Member),
                            object_id=str(enrolled.pk), object_repr=str(enrolled), action_flag=CHANGE)  # fmt: skip

    member_erase(member=enrolled, actor=ACTOR, now=now)

    assert Adjustment.objects.get(member=enrolled).note == "[erased] [erased] called, [erased]"
    assert LogEntry.objects.get().object_repr == str(Member.objects.get(pk=enrolled.pk))
    assert "ada" not in LogEntry.objects.get().object_repr.lower()


def test_erasing_again_changes_nothing(api, enrolled):
    first_at = timezone.now()
    member_erase(member=enrolled, actor=ACTOR, now=first_at)
    row = Member.objects.filter(pk=enrolled.pk).values().get()
    entries = LedgerEntry.objects.count()

    again = member_erase(member=enrolled, actor="staff:someone-else", now=first_at + dt.timedelta(days=1))

    assert Member.objects.filter(pk=enrolled.pk).values().get() == row
    assert (again.erased_at, again.erased_by) == (first_at, ACTOR)
    assert LedgerEntry.objects.count() == entries


def test_an_erased_member_earns_nothing_more(api, enrolled):
    member_erase(member=enrolled, actor=ACTOR, now=timezone.now())

    r = api.post("/api/v1/transactions", purchase(enrolled))

    assert r.status_code == 422 and r.json()["error"]["code"] == "member_inactive"
    assert not Subscription.objects.exists() and balance(enrolled) == (0, 0, 0)
