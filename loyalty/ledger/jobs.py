"""`expire_points`: what is left of lots past their expiry leaves the balance, one entry per member per run.

Policies (docs/API.md): `rolling` and `end_of_year` stamp each lot with its expiry when it is earned, so due
lots are those with `expires_at <= now`; `inactivity` expires every lot of a member whose last purchase
is N months old (`months_add(last purchase, N) <= now`; a member who never purchased: each lot N months
after it was credited), and a lot stamped with an expiry under an earlier policy at that expiry; `never`
expires nothing.

The rule is written once, as SQL that SQLite and PostgreSQL both run: `due_condition` says which lots are
due. Each chunk of accounts `run_chunks` has locked is five statements whatever it holds: its due lots read
once, one expire entry per account holding some (its ledger id minted by `public_id_new`, passed in), the
allocation of each due lot's remainder to that entry, the lots zeroed, and each account's balance set to
its entry's `balance_after`. Ids and points travel as integer literals (`ids_sql`).
"""

import datetime as dt

from django.db import connection

from loyalty.calendar import months_add_reached
from loyalty.jobs.runner import JobRun, ids_sql, run_chunks
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.program.models import Program
from loyalty.program.selectors import program_get
from members.public_ids import public_id_new

ACTOR = "job:expire_points"


def due_condition(program: Program, now: dt.datetime) -> tuple[str, dict] | None:
    """The SQL condition (and its parameters) a due lot meets, on `lot` (loyalty_pointlot); None under the
    `never` policy."""
    at = connection.ops.adapt_datetimefield_value
    live, params = "lot.remaining > 0 AND NOT lot.pending", {"now": at(now)}
    if program.expiry_policy in (Program.ExpiryPolicy.ROLLING, Program.ExpiryPolicy.END_OF_YEAR):
        return f"{live} AND lot.expires_at <= %(now)s", params
    if program.expiry_policy == Program.ExpiryPolicy.INACTIVITY:
        # months_add(since, N) <= now, as bounds on `since` (months_add_reached).
        last_purchase = "SELECT account.last_purchase_at FROM loyalty_account account WHERE account.id = lot.account_id"
        since = f"COALESCE(({last_purchase}), lot.created_at)"
        reached = months_add_reached(program.expiry_months, now)
        inactive = [f"{since} < %(before)s"]
        params["before"] = at(reached.before)
        for index, (start, end) in enumerate(reached.spans):
            inactive.append(f"{since} BETWEEN %(start{index})s AND %(end{index})s")
            params |= {f"start{index}": at(start), f"end{index}": at(end)}
        return f"{live} AND (lot.expires_at <= %(now)s OR {' OR '.join(inactive)})", params
    return None


CANDIDATES = """
SELECT DISTINCT lot.account_id
FROM loyalty_pointlot lot
WHERE lot.account_id > %(after)s AND {due}
ORDER BY lot.account_id
LIMIT %(limit)s
"""

DUE_LOTS = """
SELECT lot.id, lot.account_id, lot.remaining
FROM loyalty_pointlot lot
WHERE lot.account_id IN ({accounts}) AND {due}
ORDER BY lot.account_id, lot.id
"""

# One entry per account holding due lots: their remainders, off the balance the locked account holds.
ENTRIES_INSERT = """
WITH expiring (account_id, points, public_id) AS (VALUES {expiring})
INSERT INTO loyalty_ledgerentry
    (public_id, account_id, kind, points, pending_points, held_points, balance_after, reference, actor,
     description, created_at)
SELECT expiring.public_id, account.id, %(kind)s, -expiring.points, 0, 0, account.available - expiring.points, '',
       %(actor)s, expiring.points || ' points expired', %(now)s
FROM expiring JOIN loyalty_account account ON account.id = expiring.account_id
ORDER BY account.id
RETURNING id, account_id
"""

ALLOCATIONS_INSERT = "INSERT INTO loyalty_lotallocation (entry_id, lot_id, points) VALUES {allocations}"

LOTS_ZERO = "UPDATE loyalty_pointlot SET remaining = 0 WHERE id IN ({lots})"

ACCOUNTS_UPDATE = """
UPDATE loyalty_account SET available = entry.balance_after
FROM loyalty_ledgerentry entry
WHERE loyalty_account.id IN ({accounts}) AND entry.account_id = loyalty_account.id AND entry.id IN ({entries})
"""


def expire_points(*, now: dt.datetime, chunk_size: int = 1000) -> JobRun:
    """Expire every due lot's remainder. Rerunning changes nothing."""
    run = JobRun("expire_points")
    due = due_condition(program_get(), now)
    if due is None:
        return run
    condition, params = due

    def candidates(after: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(CANDIDATES.format(due=condition), {**params, "after": after, "limit": chunk_size})
            return [account_id for (account_id,) in cursor.fetchall()]

    def work(accounts: list[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(DUE_LOTS.format(accounts=ids_sql(accounts), due=condition), params)
            lots = cursor.fetchall()
            if not lots:
                return
            points: dict[int, int] = {}
            for _, account_id, remaining in lots:
                points[account_id] = points.get(account_id, 0) + remaining
            minted = {f"id{index}": public_id_new("ent") for index in range(len(points))}
            expiring = ", ".join(
                f"({int(account_id)}, {int(total)}, %(id{index})s)"
                for index, (account_id, total) in enumerate(points.items())
            )
            cursor.execute(
                ENTRIES_INSERT.format(expiring=expiring),
                {**params, **minted, "kind": LedgerEntry.Kind.EXPIRE, "actor": ACTOR},
            )
            entry_of = {account_id: entry_id for entry_id, account_id in cursor.fetchall()}
            allocations = ", ".join(
                f"({int(entry_of[account_id])}, {int(lot_id)}, {int(remaining)})"
                for lot_id, account_id, remaining in lots
            )
            cursor.execute(ALLOCATIONS_INSERT.format(allocations=allocations))
            cursor.execute(LOTS_ZERO.format(lots=ids_sql(lot_id for lot_id, _, _ in lots)))
            cursor.execute(ACCOUNTS_UPDATE.format(accounts=ids_sql(entry_of), entries=ids_sql(entry_of.values())))
        run.add(points_expired=sum(points.values()), members=len(points), lots=len(lots))

    rows = Account.objects.values_list("pk", flat=True)
    return run_chunks(run, rows=rows, candidates=candidates, work=work, chunk_size=chunk_size)
