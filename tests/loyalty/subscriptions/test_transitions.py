"""The subscription state machine: the table is the documented one; every allowed move, driven through
the services or the renewal job on the database, happens and is recorded with its cause; a final
subscription, however it got there, refuses every write with `invalid_state` and writes nothing."""

import datetime as dt

import pytest

from loyalty.errors import InvalidState
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.services import TRANSITIONS
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, GRACE, cancel, fresh, moves, pay, snapshot, subscribe

FINAL = ("canceled", "expired")

# The contract, written out independently of the implementation: (from, to) -> causes.
EXPECTED = {
    ("incomplete", "active"): {"payment_succeeded"},
    ("incomplete", "canceled"): {"canceled"},
    ("incomplete", "expired"): {"never_paid"},
    ("trialing", "active"): {"payment_succeeded"},
    ("trialing", "past_due"): {"payment_failed"},
    ("trialing", "canceled"): {"canceled", "canceled_at_period_end"},
    ("trialing", "expired"): {"trial_ended_unpaid"},
    ("active", "active"): {"payment_succeeded"},
    ("active", "past_due"): {"payment_failed", "period_ended_unpaid"},
    ("active", "canceled"): {"canceled", "canceled_at_period_end"},
    ("past_due", "active"): {"payment_succeeded"},
    ("past_due", "past_due"): {"payment_failed"},
    ("past_due", "canceled"): {"canceled", "canceled_at_period_end"},
    ("past_due", "expired"): {"grace_ended"},
}
T0 = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


def test_table_is_the_documented_one():
    assert {key: set(causes) for key, causes in TRANSITIONS.items()} == EXPECTED
    assert not [key for key in TRANSITIONS if key[0] in FINAL]  # final states have no way out


# --- every allowed move, driven through the services or the job ---------------------------------------


def _incomplete(shop, member, plans):
    return subscribe(shop, member, plans["plus"], T0)


def _trialing(shop, member, plans):
    return subscribe(shop, member, plans["trial"], T0)


def _active(shop, member, plans):
    subscription = _incomplete(shop, member, plans)
    pay(shop, subscription, "first", T0)
    return fresh(subscription)


def _past_due(shop, member, plans):
    subscription = _active(shop, member, plans)
    pay(shop, subscription, "failed-1", T0 + 20 * DAY, status="failed")
    return fresh(subscription)


def _past_due_canceling(shop, member, plans):
    """Past due by a renewal charge that failed after the member asked to stop at period end."""
    subscription = _active(shop, member, plans)
    cancel(subscription, T0 + DAY, at_period_end=True)
    pay(shop, subscription, "failed-1", T0 + 20 * DAY, status="failed")
    return fresh(subscription)


def _job(now):
    renew_subscriptions(now=now)


SCENARIOS = {
    ("incomplete", "active", "payment_succeeded"): (_incomplete, lambda s, sh: pay(sh, s, "p", T0 + DAY)),
    ("incomplete", "canceled", "canceled"): (_incomplete, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("incomplete", "expired", "never_paid"): (_incomplete, lambda s, sh: _job(T0 + GRACE)),
    ("trialing", "active", "payment_succeeded"): (_trialing, lambda s, sh: pay(sh, s, "p", T0 + DAY)),
    ("trialing", "past_due", "payment_failed"): (_trialing, lambda s, sh: pay(sh, s, "f", T0 + DAY, status="failed")),
    ("trialing", "canceled", "canceled"): (_trialing, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("trialing", "canceled", "canceled_at_period_end"): (
        _trialing, lambda s, sh: (cancel(s, T0 + DAY, at_period_end=True), _job(T0 + 14 * DAY)),
    ),
    ("trialing", "expired", "trial_ended_unpaid"): (_trialing, lambda s, sh: _job(T0 + 14 * DAY)),
    ("active", "active", "payment_succeeded"): (_active, lambda s, sh: pay(sh, s, "p2", T0 + 27 * DAY)),
    ("active", "past_due", "payment_failed"): (_active, lambda s, sh: pay(sh, s, "f", T0 + 27 * DAY, status="failed")),
    ("active", "past_due", "period_ended_unpaid"): (_active, lambda s, sh: _job(s.current_period_end)),
    ("active", "canceled", "canceled"): (_active, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("active", "canceled", "canceled_at_period_end"): (
        _active, lambda s, sh: (cancel(s, T0 + DAY, at_period_end=True), _job(s.current_period_end)),
    ),
    ("past_due", "active", "payment_succeeded"): (_past_due, lambda s, sh: pay(sh, s, "p2", T0 + 21 * DAY)),
    ("past_due", "past_due", "payment_failed"): (
        _past_due, lambda s, sh: pay(sh, s, "f2", T0 + 21 * DAY, status="failed"),
    ),
    ("past_due", "canceled", "canceled"): (_past_due, lambda s, sh: cancel(s, T0 + 21 * DAY, at_period_end=False)),
    ("past_due", "canceled", "canceled_at_period_end"): (_past_due_canceling, lambda s, sh: _job(s.current_period_end)),
    ("past_due", "expired", "grace_ended"): (_past_due, lambda s, sh: _job(s.current_period_end + GRACE)),
}  # fmt: skip


def test_every_allowed_move_has_a_scenario():
    assert set(SCENARIOS) == {(f, t, c) for (f, t), causes in EXPECTED.items() for c in causes}


@pytest.mark.parametrize("move", sorted(SCENARIOS), ids="-".join)
def test_allowed_move_happens_and_is_recorded(shop, member, plans, move):
    from_status, to_status, cause = move
    setup, act = SCENARIOS[move]
    subscription = setup(shop, member, plans)
    assert subscription.status == from_status
    events_before = len(moves(subscription))
    act(subscription, shop)
    subscription = fresh(subscription)
    assert subscription.status == to_status
    recorded = moves(subscription)
    assert len(recorded) == events_before + 1
    assert recorded[-1] == (from_status, to_status, cause)
    assert (subscription.ended_at is not None) == (to_status in ("canceled", "expired"))


# --- every refused move: a final subscription refuses every write, however it got there ----------------

# Every way into a final state, from the allowed moves above (the job's moves made due by time).
FINAL_MOVES = sorted(move for move in SCENARIOS if move[1] in FINAL)
LATER = T0 + 90 * DAY  # after every scenario's last move
WRITES = {
    "pay": lambda s, sh: pay(sh, s, "late", LATER),
    "pay_failed": lambda s, sh: pay(sh, s, "late-failed", LATER, status="failed"),
    "cancel": lambda s, sh: cancel(s, LATER, at_period_end=False),
    "cancel_at_period_end": lambda s, sh: cancel(s, LATER, at_period_end=True),
}


def test_every_final_state_is_reached_by_a_scenario():
    assert {to_status for _, to_status, _ in FINAL_MOVES} == set(FINAL)


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("move", FINAL_MOVES, ids="-".join)
def test_a_final_subscription_refuses_every_write_and_writes_nothing(shop, member, plans, move, write):
    setup, act = SCENARIOS[move]
    subscription = setup(shop, member, plans)
    act(subscription, shop)
    subscription = fresh(subscription)
    assert subscription.status == move[1]
    before = snapshot()  # the subscription row, its events and payments, the ledger and the account

    with pytest.raises(InvalidState) as refused:
        WRITES[write](subscription, shop)

    assert refused.value.code == "invalid_state"
    assert snapshot() == before
    renew_subscriptions(now=LATER)  # nor does time move it on
    assert snapshot() == before


def test_creation_is_recorded(shop, member, plus, trial):
    assert moves(subscribe(shop, member, plus, T0)) == [("", "incomplete", "created")]
    assert moves(subscribe(shop, MemberFactory(), trial, T0)) == [("", "trialing", "trial_started")]


def test_failed_first_payment_leaves_incomplete_without_a_move(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    payment, created = pay(shop, subscription, "f", T0 + DAY, status="failed")
    assert created and payment.status == "failed"
    assert fresh(subscription).status == "incomplete"
    assert moves(subscription) == [("", "incomplete", "created")]


def test_job_walks_a_long_overdue_subscription_to_expired(shop, member, plans):
    """One run applies every move time has made due, each through the table."""
    subscription = _active(shop, member, plans)
    run = renew_subscriptions(now=subscription.current_period_end + GRACE + DAY)
    assert fresh(subscription).status == "expired"
    assert moves(subscription)[-2:] == [
        ("active", "past_due", "period_ended_unpaid"),
        ("past_due", "expired", "grace_ended"),
    ]
    assert run is not None
    again = snapshot()
    renew_subscriptions(now=subscription.current_period_end + GRACE + 2 * DAY)
    assert snapshot() == again
