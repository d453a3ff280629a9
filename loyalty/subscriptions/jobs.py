"""`renew_subscriptions`: the moves time makes on subscriptions, each through the transition table.

- canceled at period end, once the period is over (`canceled_at_period_end`), even if a payment failed
  since the member asked (past due then: the member's request wins over the grace);
- a trial that ended unpaid expires (`trial_ended_unpaid`);
- an active period that ended without a reported payment falls past due (`period_ended_unpaid`);
- past due beyond the program's grace expires (`grace_ended`);
- a subscription never paid for expires after the grace (`never_paid`).
Accounts are locked first, as every subscription write does, and their plan benefits updated.
"""

import datetime as dt

from django.db.models import Q

from loyalty.jobs.runner import JobRun, run_chunks
from loyalty.ledger.bulk import accounts_update
from loyalty.ledger.models import Account
from loyalty.program.selectors import program_get
from loyalty.subscriptions.models import Subscription, SubscriptionEvent
from loyalty.subscriptions.services import S, _move, benefits_until


def _due(now: dt.datetime, grace: dt.timedelta) -> Q:
    period_over = Q(current_period_end__lte=now)
    return (
        Q(status__in=[S.TRIALING, S.ACTIVE]) & period_over
        | Q(status=S.PAST_DUE, cancel_at_period_end=True) & period_over
        | Q(status=S.PAST_DUE, past_due_since__lte=now - grace, current_period_end__lte=now)
        | Q(status=S.INCOMPLETE, created_at__lte=now - grace)
    )


def _next_move(subscription: Subscription, now: dt.datetime, grace: dt.timedelta) -> tuple[str, str] | None:
    """(to_status, cause) for the move time makes now, or None."""
    over = subscription.current_period_end <= now
    if subscription.status in (S.TRIALING, S.ACTIVE, S.PAST_DUE) and over and subscription.cancel_at_period_end:
        return S.CANCELED, "canceled_at_period_end"
    if subscription.status == S.TRIALING and over:
        return S.EXPIRED, "trial_ended_unpaid"
    if subscription.status == S.ACTIVE and over:
        return S.PAST_DUE, "period_ended_unpaid"
    if subscription.status == S.PAST_DUE and over and subscription.past_due_since + grace <= now:
        return S.EXPIRED, "grace_ended"
    if subscription.status == S.INCOMPLETE and subscription.created_at + grace <= now:
        return S.EXPIRED, "never_paid"
    return None


def renew_subscriptions(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Apply every move that time has made due. Rerunning changes nothing."""
    run = JobRun("renew_subscriptions")
    grace_days = program_get().subscription_grace_days
    grace = dt.timedelta(days=grace_days)
    due = Subscription.objects.filter(_due(now, grace))

    def candidates(after: int):
        return (
            Account.objects.filter(pk__gt=after, member__subscriptions__in=due)
            .order_by("pk")
            .values_list("pk", flat=True)
            .distinct()[:chunk_size]
        )

    def work(accounts: list[Account]) -> None:
        by_member = {account.member_id: account for account in accounts}
        subscriptions = list(
            due.filter(member_id__in=by_member).select_for_update(of=("self",)).select_related("plan").order_by("id")
        )
        events, changed_accounts = [], []
        for subscription in subscriptions:
            while (move := _next_move(subscription, now, grace)) is not None:
                to_status, cause = move
                if to_status == S.PAST_DUE:
                    subscription.past_due_since = subscription.current_period_end
                events.append(_move(subscription, to_status, cause=cause, now=now))
                run.add(**{cause: 1})
            account = by_member[subscription.member_id]
            until = benefits_until(subscription, grace_days)
            account.plan_id, account.plan_benefits_until = (subscription.plan_id, until) if until else (None, None)
            changed_accounts.append(account)
        Subscription.objects.bulk_update(subscriptions, ["status", "past_due_since", "ended_at"])
        SubscriptionEvent.objects.bulk_create(events)
        accounts_update(changed_accounts, ["plan", "plan_benefits_until"])

    return run_chunks(run, rows=Account.objects, candidates=candidates, work=work, chunk_size=chunk_size)
