"""GET /portal/profile/export: everything stored about the member as a JSON file to download (GDPR Art. 15/20),
in a fixed number of queries however long their history, never a sign-in link's secret, never another
member's data."""

import json

import pytest
from django.utils import timezone

from loyalty.messages.models import Message
from members.models import Member
from tests.factories import MemberFactory
from tests.support.api import purchase
from tests.support.everywhere import PERSON, PHONE_STORED, member_everywhere
from tests.support.portal import signed_in

EXPORT = "/portal/profile/export"


@pytest.fixture
def zenobia(api, plus):
    return member_everywhere(api, plus)


def exported(client) -> dict:
    r = client.get(EXPORT)
    assert r.status_code == 200
    return json.loads(r.content)


def test_a_json_file_to_download_named_with_the_date(zenobia):
    r = signed_in(zenobia.member).get(EXPORT)

    assert r["Content-Type"] == "application/json; charset=utf-8"
    assert r["Content-Disposition"] == f'attachment; filename="loyalty-data-{timezone.localdate():%Y-%m-%d}.json"'
    assert "no-store" in r["Cache-Control"]


def test_every_table_of_the_member_is_in_it(zenobia):
    data = exported(signed_in(zenobia.member))

    profile = data["profile"]
    assert (profile["email"], profile["first_name"], profile["last_name"], profile["phone"], profile["birth_date"]) == (
        PERSON["email"], "Zenobia", "Quillfeather", PHONE_STORED, "1985-07-14",
    )  # fmt: skip
    assert profile["card_number"] == zenobia.member.card_number
    consent = data["consents"]["marketing"]
    assert consent["given"] is True and consent["given_at"] and consent["withdrawn_at"] is None
    kinds = [entry["kind"] for entry in data["ledger_entries"]]
    assert {"earn", "clawback", "bonus", "hold", "redeem", "adjust"} <= set(kinds)
    assert len(kinds) == zenobia.member.account.entries.count()
    assert data["account"]["available"] == zenobia.member.account.available
    assert [t["public_id"] for t in data["transactions"]] == zenobia.transaction_ids
    assert data["transactions"][0]["lines"][0]["sku"] == "sku-1"
    assert [refund["amount"] for refund in data["transactions"][1]["refunds"]] == ["9.9900"]
    assert [(h["external_id"], h["status"]) for h in data["holds"]] == [("pay-at-till", "held")]
    (redemption,) = data["redemptions"]
    assert redemption["voucher"]["code"] == zenobia.voucher_code and redemption["reward"] == "Reward COFFEE"
    (adjustment,) = data["adjustments"]
    assert adjustment["points"] == 25 and "Zenobia called" in adjustment["note"]
    (subscription,) = data["subscriptions"]
    assert subscription["public_id"] == zenobia.subscription.public_id and subscription["plan"]["code"] == "plus"
    assert [e["cause"] for e in subscription["events"]] == ["created", "payment_succeeded", "extended"]
    assert [p["external_id"] for p in subscription["payments"]] == ["sub-pay-1"]
    assert [(m["kind"], m["status"]) for m in data["messages"]] == [("sign_in", "sent"), ("sign_in", "queued")]
    assert all(m["to_email"] == PERSON["email"] and m["subject"] and m["body_text"] for m in data["messages"])
    assert all("(sign-in link, left out)" in m["body_text"] and "[[secret]]" not in m["body_text"]
               for m in data["messages"])  # fmt: skip


def test_no_secret_and_no_other_member_in_it(zenobia, api):
    other = MemberFactory(email="grace@example.com", first_name="Grace")
    api.post("/api/v1/transactions", purchase(other, external_id="grace-order"))
    Message.objects.filter(member=zenobia.member, status="queued").update(secret="https://x/portal/login/SECRET")

    body = signed_in(zenobia.member).get(EXPORT).content.decode()

    assert "SECRET" not in body and '"secret"' not in body
    assert "grace" not in body.lower() and other.card_number not in body and other.public_id not in body


def test_a_new_member_gets_an_empty_but_whole_file(portal, member):
    data = exported(portal)

    assert data["profile"]["public_id"] == member.public_id
    assert data["ledger_entries"] == data["transactions"] == data["messages"] == data["subscriptions"] == []


def test_the_export_costs_the_same_however_long_the_history(api, plus, django_assert_max_num_queries):
    zenobia = member_everywhere(api, plus)
    client = signed_in(zenobia.member)
    client.get(EXPORT)  # the session's daily keep-alive write out of the way

    with django_assert_max_num_queries(16) as short:
        client.get(EXPORT)
    for n in range(10):
        api.post("/api/v1/transactions", purchase(zenobia.member, external_id=f"more-{n}", total="5.00"))
        r = api.post("/api/v1/transactions", purchase(zenobia.member, external_id=f"refunded-{n}", total="5.00"))
        api.post(f"/api/v1/transactions/{r.json()['id']}/refunds", {"external_id": f"r-{n}", "amount": "1.00"})
    with django_assert_max_num_queries(16) as long:
        data = exported(client)

    assert len(data["transactions"]) == 22 and len(long.captured_queries) == len(short.captured_queries)


def test_a_visitor_gets_no_file(visitor, db):
    r = visitor.get(EXPORT)

    assert r.status_code == 302 and r["Location"] == "/portal/login"


def test_an_erased_member_has_nothing_left_to_export(zenobia):
    client = signed_in(zenobia.member)
    client.post("/portal/profile/close")

    r = client.get(EXPORT)

    assert r.status_code == 302 and not Member.objects.filter(email=PERSON["email"]).exists()
