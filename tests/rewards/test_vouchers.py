"""Vouchers: their codes, look-up and use by any shop of the program, expiry, and the look-up rate limit.

GET /api/v1/vouchers/{code} and POST /api/v1/vouchers/{code}/use (docs/API.md, Rewards and vouchers).
"""

import datetime as dt
import math

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import rewards.services
from rewards.api import VoucherLookupThrottle
from rewards.jobs import expire_vouchers
from rewards.models import Redemption, Voucher
from rewards.selectors import voucher_code_normalise
from rewards.services import VOUCHER_ALPHABET, voucher_code_new
from tests.support.rewards import DAY, cancel, error_of, redeemed, world

pytestmark = pytest.mark.django_db

LOOK_ALIKES = set("0O1IL")


def voucher_url(code: str) -> str:
    return f"/api/v1/vouchers/{code}"


def use(api, code: str, external_id: str = "order-1"):
    return api.post(f"/api/v1/vouchers/{code}/use", {"external_id": external_id})


@pytest.fixture
def issued(api, reward_load, member_with_points):
    """`issued()` redeems the COFFEE reward for a fresh member and returns the redemption body."""
    reward_load("COFFEE", name="Free coffee", value="3.50", stock=None)

    def make() -> dict:
        return redeemed(api, member_with_points(1000), "COFFEE")

    return make


# --- codes ---------------------------------------------------------------------------------------------


def test_the_code_alphabet_has_no_look_alikes_and_codes_carry_at_least_60_bits():
    assert not LOOK_ALIKES & set(VOUCHER_ALPHABET)
    assert len(set(VOUCHER_ALPHABET)) == len(VOUCHER_ALPHABET)  # no letter counted twice
    codes = [voucher_code_new() for _ in range(2000)]
    for code in codes:
        compact = code.replace("-", "")
        assert set(compact) <= set(VOUCHER_ALPHABET), code
        assert voucher_code_normalise(code) == code
    lengths = {len(code.replace("-", "")) for code in codes}
    assert len(lengths) == 1
    assert lengths.pop() * math.log2(len(VOUCHER_ALPHABET)) >= 60
    assert len(set(codes)) == len(codes)
    # Every letter of the alphabet is drawn: the code really uses the whole alphabet's entropy.
    assert set("".join(codes).replace("-", "")) == set(VOUCHER_ALPHABET)


def test_issued_codes_use_only_the_alphabet(issued):
    codes = [issued()["voucher_code"] for _ in range(5)]

    for code in codes:
        assert set(code.replace("-", "")) <= set(VOUCHER_ALPHABET)
    assert len(set(codes)) == 5


def test_a_duplicate_code_is_refused_by_the_database(api, issued, reward_load, member_with_points):
    first, second = issued(), issued()
    voucher = Voucher.objects.get(code=second["voucher_code"])
    reward_load("TREES", kind="donation", points_cost=10, stock=None)
    donation = Redemption.objects.get(public_id=redeemed(api, member_with_points(100), "TREES")["id"])

    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.filter(pk=voucher.pk).update(code=first["voucher_code"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.create(
            code=first["voucher_code"], redemption=donation, reward=voucher.reward, member=donation.member,
            value=voucher.value, expires_at=voucher.expires_at,
        )  # fmt: skip
    assert Voucher.objects.filter(code=first["voucher_code"]).count() == 1


def test_a_colliding_code_is_drawn_again(issued, monkeypatch):
    taken = issued()["voucher_code"]
    draws = iter([taken, taken, "ACDE-FGHJ-KMNP-QR"])
    monkeypatch.setattr(rewards.services, "voucher_code_new", lambda: next(draws))

    body = issued()

    assert body["voucher_code"] == "ACDE-FGHJ-KMNP-QR"
    assert Voucher.objects.filter(code=taken).count() == 1


# --- look-up -------------------------------------------------------------------------------------------


def test_any_shop_of_the_program_can_look_a_voucher_up(api, other_api, issued):
    body = issued()
    code = body["voucher_code"]
    redemption = Redemption.objects.get(public_id=body["id"])

    for client in (api, other_api):
        response = client.get(voucher_url(code))
        assert response.status_code == 200, response.content
        assert response.json() == {
            "code": code, "status": "issued", "reward": {"code": "COFFEE", "name": "Free coffee"}, "value": "3.50",
            "member": redemption.member.public_id, "expires_at": body["expires_at"], "used_at": None,
            "issued_by_shop": "shop-a", "used_by_shop": None,
        }  # fmt: skip


def test_a_voucher_redeemed_through_shop_a_is_used_by_shop_b_and_shop_a_sees_by_whom(api, other_api, issued):
    """Vouchers are program-wide (a coalition): any shop looks up and takes any voucher, and the body says
    which shop's redemption issued it and which shop took it."""
    code = issued()["voucher_code"]  # redeemed through shop A

    looked_up = other_api.get(voucher_url(code))
    assert looked_up.status_code == 200, looked_up.content
    assert (looked_up.json()["status"], looked_up.json()["issued_by_shop"], looked_up.json()["used_by_shop"]) == (
        "issued", "shop-a", None,
    )  # fmt: skip

    used = use(other_api, code, "b-order-1")
    assert used.status_code == 200, used.content
    assert (used.json()["status"], used.json()["issued_by_shop"], used.json()["used_by_shop"]) == (
        "used", "shop-a", "shop-b",
    )  # fmt: skip

    seen_by_a = api.get(voucher_url(code))
    assert seen_by_a.status_code == 200
    assert seen_by_a.json() == used.json()
    assert (seen_by_a.json()["status"], seen_by_a.json()["used_by_shop"]) == ("used", "shop-b")


def test_a_voucher_look_up_runs_as_many_statements_used_as_issued(api, other_api, issued):
    code = issued()["voucher_code"]
    assert api.get(voucher_url(code)).status_code == 200  # warm-up: the key's last_used_at stamp, caches
    with CaptureQueriesContext(connection) as issued_lookup:
        assert api.get(voucher_url(code)).status_code == 200
    assert use(other_api, code, "b-order-1").status_code == 200
    with CaptureQueriesContext(connection) as used_lookup:
        assert api.get(voucher_url(code)).json()["used_by_shop"] == "shop-b"

    assert len(used_lookup.captured_queries) == len(issued_lookup.captured_queries) <= 4


@pytest.mark.parametrize("typed", [str.lower, lambda c: c.replace("-", ""), lambda c: c.lower().replace("-", "")])
def test_a_code_is_found_in_lower_case_and_without_dashes(other_api, issued, typed):
    code = issued()["voucher_code"]

    response = other_api.get(voucher_url(typed(code)))

    assert response.status_code == 200 and response.json()["code"] == code


def test_an_unknown_code_is_404_voucher_not_found(api, issued):
    issued()

    response = api.get(voucher_url("AAAA-AAAA-AAAA-AA"))

    assert error_of(response) == (404, "not_found", "voucher_not_found")
    assert error_of(use(api, "AAAA-AAAA-AAAA-AA")) == (404, "not_found", "voucher_not_found")


# --- use -----------------------------------------------------------------------------------------------


def test_using_a_voucher_marks_it_used(api, other_api, issued):
    code = issued()["voucher_code"]
    before = timezone.now()

    response = use(other_api, code.lower().replace("-", ""), "order-7")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == code and body["status"] == "used"
    assert before <= dt.datetime.fromisoformat(body["used_at"]) <= timezone.now()
    voucher = Voucher.objects.get(code=code)
    assert (voucher.status, voucher.used_by, voucher.use_external_id) == ("used", other_api.shop, "order-7")
    assert api.get(voucher_url(code)).json() == body  # every shop sees it used


def test_using_again_with_the_same_external_id_answers_the_same(api, issued):
    code = issued()["voucher_code"]
    first = use(api, code, "order-7")
    assert first.status_code == 200
    before = world()

    again = use(api, code, "order-7")

    assert again.status_code == 200 and again.json() == first.json()
    assert world() == before


@pytest.mark.parametrize(("who", "external_id"), [("same shop", "order-8"), ("other shop", "order-7")])
def test_using_again_otherwise_is_voucher_already_used(api, other_api, issued, who, external_id):
    code = issued()["voucher_code"]
    assert use(api, code, "order-7").status_code == 200
    before = world()

    response = use(api if who == "same shop" else other_api, code, external_id)

    assert error_of(response) == (422, "business_rule", "voucher_already_used")
    assert world() == before
    assert Voucher.objects.get(code=code).used_by == api.shop


def test_one_external_id_cannot_take_two_vouchers(api, issued):
    one, two = issued()["voucher_code"], issued()["voucher_code"]
    assert use(api, one, "order-7").status_code == 200
    before = world()

    response = use(api, two, "order-7")

    assert response.status_code == 409 and response.json()["error"]["type"] == "conflict"
    assert world() == before


def test_using_needs_an_external_id(api, issued):
    code = issued()["voucher_code"]
    before = world()

    response = api.post(f"/api/v1/vouchers/{code}/use", {})

    assert response.status_code == 400 and response.json()["error"]["param"] == "external_id"
    assert world() == before


def test_an_expired_voucher_cannot_be_used_and_looks_expired(api, other_api, issued):
    code = issued()["voucher_code"]
    Voucher.objects.filter(code=code).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = world()

    response = use(other_api, code, "order-1")

    assert error_of(response) == (422, "business_rule", "voucher_expired")
    assert world() == before
    assert other_api.get(voucher_url(code)).json()["status"] == "expired"  # even before the job ran
    assert Voucher.objects.get(code=code).status == Voucher.Status.ISSUED


def test_a_voucher_is_usable_until_its_expiry(api, issued):
    code = issued()["voucher_code"]
    Voucher.objects.filter(code=code).update(expires_at=timezone.now() + dt.timedelta(minutes=1))

    assert use(api, code).status_code == 200


# --- expire_vouchers job -------------------------------------------------------------------------------


def test_the_job_expires_issued_vouchers_past_expiry_only_and_a_rerun_changes_nothing(api, issued):
    now = timezone.now()
    due, later, used, cancelled = (issued() for _ in range(4))
    assert use(api, used["voucher_code"]).status_code == 200
    assert cancel(api, cancelled["id"]).status_code == 200
    codes = {name: body["voucher_code"] for name, body in
             {"due": due, "later": later, "used": used, "cancelled": cancelled}.items()}  # fmt: skip
    Voucher.objects.filter(code__in=[codes["due"], codes["used"], codes["cancelled"]]).update(expires_at=now - DAY)
    Voucher.objects.filter(code=codes["later"]).update(expires_at=now + DAY)
    points_before = world()["accounts"]

    run = expire_vouchers(now=now)

    assert run.counts == {"vouchers_expired": 1}
    status = dict(Voucher.objects.values_list("code", "status"))
    assert {name: status[code] for name, code in codes.items()} == {
        "due": "expired", "later": "issued", "used": "used", "cancelled": "cancelled"
    }  # fmt: skip
    assert world()["accounts"] == points_before  # an expired voucher's points are not returned
    before = world()

    rerun = expire_vouchers(now=now)

    assert rerun.counts == {} and world() == before
    assert error_of(use(api, codes["due"])) == (422, "business_rule", "voucher_expired")

    # A day later the other one is due too.
    assert expire_vouchers(now=now + 2 * DAY).counts == {"vouchers_expired": 1}
    assert Voucher.objects.get(code=codes["later"]).status == "expired"


def test_the_job_works_through_many_chunks(issued):
    for _ in range(5):
        issued()
    Voucher.objects.update(expires_at=timezone.now() - DAY)

    run = expire_vouchers(now=timezone.now(), chunk_size=2)

    assert run.counts == {"vouchers_expired": 5} and run.chunks == 3
    assert set(Voucher.objects.values_list("status", flat=True)) == {"expired"}


def test_run_job_expire_vouchers(issued, capsys):
    issued()
    Voucher.objects.update(expires_at=timezone.now() - DAY)

    call_command("run_job", "expire_vouchers")

    assert "expire_vouchers: 1 vouchers expired" in capsys.readouterr().out
    assert Voucher.objects.get().status == "expired"


# --- throttling ----------------------------------------------------------------------------------------


@pytest.fixture
def lookup_rate(monkeypatch):
    def set_(rate: str) -> None:
        monkeypatch.setattr(VoucherLookupThrottle, "rate", rate, raising=False)
        monkeypatch.setattr(
            VoucherLookupThrottle, "THROTTLE_RATES", {**VoucherLookupThrottle.THROTTLE_RATES, "voucher_lookup": rate}
        )
        cache.clear()

    return set_


def test_guessing_codes_is_throttled_per_key_with_retry_after(api, other_api, issued, lookup_rate):
    real = issued()["voucher_code"]
    lookup_rate("5/min")

    answers = [api.get(voucher_url(f"AAAA-AAAA-AAAA-A{c}")) for c in "ACDEF"]
    assert [r.status_code for r in answers] == [404] * 5

    sixth = api.get(voucher_url("AAAA-AAAA-AAAA-AG"))
    assert error_of(sixth) == (429, "rate_limited", "rate_limited")
    assert int(sixth["Retry-After"]) >= 1
    # Once throttled, even the right code is not answered: a guesser learns nothing more.
    assert api.get(voucher_url(real)).status_code == 429
    # Using by code counts against the same limit.
    assert use(api, real).status_code == 429
    assert Voucher.objects.get(code=real).status == "issued"
    # Another key has its own count.
    assert other_api.get(voucher_url(real)).status_code == 200


def test_the_voucher_lookup_rate_is_much_lower_than_the_general_rate():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    throttle = VoucherLookupThrottle()
    per_minute = throttle.num_requests * 60 / throttle.duration
    assert throttle.rate == rates["voucher_lookup"]
    assert per_minute <= 100
    # At that rate one key guessing among a million live codes needs over a thousand years per hit.
    space = len(VOUCHER_ALPHABET) ** len(voucher_code_new().replace("-", ""))
    minutes_per_hit = space / 1_000_000 / per_minute
    assert minutes_per_hit > 1e9
