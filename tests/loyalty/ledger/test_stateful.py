"""The ledger against a model: random credits, debits, claw-backs, expiries and cancellations.

The model keeps each member's available and pending balance and every lot's remaining points, drawing
soonest-expiring first (never-expiring last, ties by creation), as the ledger spends them. After every
step the database must equal the model, and after every step that wrote, `ledger_verify()` must find
nothing wrong (a step that wrote nothing cannot change its answer, and it is the slow part).

Each example runs inside its own savepoint, rolled back at teardown, so every example starts from an
empty ledger. Pending lots stay pending: activation is not exercised here.
"""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty.errors import InvalidState
from loyalty.ledger.errors import InsufficientPoints
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import debit_cancel, points_credit, points_debit, points_expire
from loyalty.ledger.verify import ledger_verify
from members.models import Member
from tests.factories import MemberFactory

Kind = LedgerEntry.Kind
DAY = dt.timedelta(days=1)
MEMBERS = 2
EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass
class LotModel:
    pk: int
    amount: int
    remaining: int
    pending: bool
    expires_at: dt.datetime | None

    def draw_key(self) -> tuple:
        """Soonest-expiring first, never-expiring last, ties by creation (the id)."""
        return (self.expires_at is None, self.expires_at or EARLIEST, self.pk)


@dataclass
class AccountModel:
    member: Member
    available: int = 0
    pending: int = 0
    lots: dict[int, LotModel] = field(default_factory=dict)
    opened: bool = False  # whether a service has created the account row yet

    def draw(self, points: int) -> list[tuple[int, int]]:
        """Take `points` from available lots in draw order; [(lot id, points taken)]."""
        drawn = []
        for lot in sorted(self.lots.values(), key=LotModel.draw_key):
            if points == 0:
                break
            if lot.pending or lot.remaining == 0:
                continue
            take = min(lot.remaining, points)
            lot.remaining -= take
            points -= take
            drawn.append((lot.pk, take))
        assert points == 0, "the model drew more than its lots hold"
        return drawn


@dataclass
class DebitModel:
    entry: LedgerEntry
    account: AccountModel
    points: int
    drawn: list[tuple[int, int]]
    cancelled: bool = False


def books() -> tuple[list, ...]:
    """Every row and column the ledger (and `ledger_verify`) looks at."""
    return (
        list(Account.objects.order_by("pk").values_list("pk", "member_id", "available", "pending", "held")),
        list(
            LedgerEntry.objects.order_by("pk").values_list(
                "pk", "account_id", "kind", "points", "pending_points", "held_points", "balance_after", "reverses_id"
            )
        ),
        list(PointLot.objects.order_by("pk").values_list("pk", "account_id", "amount", "remaining", "pending")),
        list(LotAllocation.objects.order_by("pk").values_list("pk", "entry_id", "lot_id", "points")),
    )


credit_terms = st.tuples(
    st.integers(1, 500),  # points
    st.none() | st.integers(1, 60),  # expires this many days after it becomes available; None: never
    st.none() | st.integers(1, 30),  # pending for this many days; None: available at once
    st.sampled_from([Kind.EARN, Kind.BONUS, Kind.ADJUST]),
)


class LedgerMachine(RuleBasedStateMachine):
    start: dt.datetime  # set by the test from the `now` fixture

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.clock = self.start
        self.accounts = [AccountModel(MemberFactory()) for _ in range(MEMBERS)]
        self.debits: list[DebitModel] = []
        # Whether the last step may have written. A step that wrote nothing (a refusal, which asserts
        # the books unchanged, or moving the clock) cannot change what ledger_verify() finds, so the
        # invariant skips that (slow) query set after it.
        self.written = True

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # --- rules -------------------------------------------------------------------------------------

    @initialize(opening=st.lists(st.lists(credit_terms, max_size=4), min_size=MEMBERS, max_size=MEMBERS))
    def open_accounts(self, opening):
        """Start most examples with a few lots, so debits have something to draw from."""
        for account, credits in zip(self.accounts, opening, strict=True):
            for terms in credits:
                self._credit(account, *terms)

    @rule(who=st.integers(0, MEMBERS - 1), credits=st.lists(credit_terms, min_size=1, max_size=3))
    def credit(self, who, credits):
        for terms in credits:
            self._credit(self.accounts[who], *terms)

    def _credit(self, account, points, expires_in_days, pending_days, kind):
        self.written = account.opened = True
        available_at = self.clock + pending_days * DAY if pending_days else None
        expires_at = (available_at or self.clock) + expires_in_days * DAY if expires_in_days else None

        entry = points_credit(
            member=account.member,
            points=points,
            now=self.clock,
            kind=kind,
            available_at=available_at,
            expires_at=expires_at,
        )

        lot_pk = PointLot.objects.values_list("pk", flat=True).get(entry=entry)
        if pending_days:
            account.pending += points
            left = points
            assert (entry.points, entry.pending_points) == (0, points)
        else:
            debt = min(points, max(0, -account.available))
            event("credit settles a debt" if debt else "credit")
            account.available += points
            left = points - debt
            assert (entry.points, entry.pending_points) == (points, 0)
        assert entry.balance_after == account.available
        account.lots[lot_pk] = LotModel(lot_pk, points, left, bool(pending_days), expires_at)

    @rule(
        who=st.integers(0, MEMBERS - 1),
        share=st.integers(1, 120),
        kind=st.sampled_from([Kind.REDEEM, Kind.REDEEM, Kind.ADJUST, Kind.CLAWBACK]),
    )
    def debit(self, who, share, kind):
        """Debit `share` percent of what is available (a claw-back twice that), so most debits succeed and
        draw from several lots. Over 100 percent a redemption is refused and a claw-back (allow_negative)
        overdraws, which later credits and cancellations must pay back first."""
        account = self.accounts[who]
        percent = share * 2 if kind == Kind.CLAWBACK else share
        points = max(1, account.available * percent // 100) if account.available > 0 else share
        self._debit(account, points, kind)

    def _debit(self, account, points, kind):
        claw_back = kind == Kind.CLAWBACK
        if account.available < points and not claw_back:
            event("debit refused")
            self.written = False
            before = books()
            with pytest.raises(InsufficientPoints):
                points_debit(member=account.member, points=points, now=self.clock, kind=kind)
            assert books() == before
            return

        entry = points_debit(member=account.member, points=points, now=self.clock, kind=kind, allow_negative=claw_back)

        self.written = account.opened = True
        drawn = account.draw(min(points, max(account.available, 0)))
        account.available -= points
        event(f"{kind} drew from {min(len(drawn), 3)}{'+' if len(drawn) >= 3 else ''} lots")
        event(f"{kind} leaves the balance {'negative' if account.available < 0 else 'positive or zero'}")
        assert (entry.kind, entry.points, entry.balance_after) == (kind, -points, account.available)
        assert dict(LotAllocation.objects.filter(entry=entry).values_list("lot_id", "points")) == dict(drawn)
        if not claw_back:
            self.debits.append(DebitModel(entry, account, points, drawn))

    @rule(days=st.integers(0, 45))
    def expire(self, days):
        self.clock += days * DAY
        # Nothing due and the account row already there: points_expire writes nothing.
        self.written = False
        for account in self.accounts:
            due = [
                lot
                for lot in account.lots.values()
                if not lot.pending and lot.remaining and lot.expires_at and lot.expires_at <= self.clock
            ]
            total = sum(lot.remaining for lot in due)
            self.written |= bool(total) or not account.opened
            account.opened = True

            entry = points_expire(member=account.member, now=self.clock)

            for lot in due:
                lot.remaining = 0
            account.available -= total
            if total:
                event("expired points")
                assert (entry.kind, entry.points, entry.balance_after) == (Kind.EXPIRE, -total, account.available)
                assert points_expire(member=account.member, now=self.clock) is None  # a rerun finds nothing
            else:
                assert entry is None

    @precondition(lambda self: any(not debit.cancelled for debit in self.debits))
    @rule(data=st.data())
    def cancel(self, data):
        self._cancel(data.draw(st.sampled_from([d for d in self.debits if not d.cancelled]), label="debit"))

    @precondition(lambda self: any(not debit.cancelled for debit in self.debits))
    @rule(data=st.data(), overdraft=st.integers(1, 400))
    def cancel_after_an_overdraft(self, data, overdraft):
        """A refund claws back more than is available, then a redemption is cancelled: the points that come
        back pay the debt first. Rare by chance, so a rule of its own."""
        debit = data.draw(st.sampled_from([d for d in self.debits if not d.cancelled]), label="debit")
        self._debit(debit.account, max(debit.account.available, 0) + overdraft, Kind.CLAWBACK)
        self._cancel(debit)

    def _cancel(self, debit):
        account = debit.account
        self.written = True

        reversal = debit_cancel(entry=debit.entry, now=self.clock)

        debt = max(0, -account.available)
        event("cancel settles a debt" if debt else "cancel")
        for lot_pk, taken in sorted(debit.drawn, key=lambda d: account.lots[d[0]].draw_key()):
            paid = min(debt, taken)
            debt -= paid
            account.lots[lot_pk].remaining += taken - paid
        account.available += debit.points
        debit.cancelled = True
        assert (reversal.kind, reversal.points, reversal.reverses_id) == (
            Kind.REVERSAL,
            debit.points,
            debit.entry.pk,
        )
        assert reversal.balance_after == account.available

    @precondition(lambda self: any(debit.cancelled for debit in self.debits))
    @rule(data=st.data())
    def cancel_again(self, data):
        debit = data.draw(st.sampled_from([d for d in self.debits if d.cancelled]), label="debit")
        self.written = False
        before = books()

        with pytest.raises(InvalidState):
            debit_cancel(entry=debit.entry, now=self.clock)

        assert books() == before

    @rule(days=st.integers(1, 30), hours=st.integers(0, 23))
    def advance(self, days, hours):
        self.written = False
        self.clock += days * DAY + dt.timedelta(hours=hours)

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def books_equal_the_model(self):
        members = [account.member.pk for account in self.accounts]
        stored = {
            member_id: (available, pending)
            for member_id, available, pending in Account.objects.filter(member_id__in=members).values_list(
                "member_id", "available", "pending"
            )
        }
        assert {a.member.pk: stored.get(a.member.pk, (0, 0)) for a in self.accounts} == {
            a.member.pk: (a.available, a.pending) for a in self.accounts
        }
        lots = dict(PointLot.objects.filter(account__member_id__in=members).values_list("pk", "remaining"))
        assert lots == {pk: lot.remaining for a in self.accounts for pk, lot in a.lots.items()}
        if self.written:
            assert ledger_verify() == []


def test_ledger_matches_its_model(db, now):
    machine = type("LedgerFromNow", (LedgerMachine,), {"start": now})

    run_state_machine_as_test(machine, settings=settings(stateful_step_count=30))
