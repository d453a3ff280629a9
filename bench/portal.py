"""Portal benchmark: the signed-in overview and history pages under load, against a raw-SQL baseline in the same run.

    .venv/bin/python bench/portal.py            # or: make bench-portal

Builds a PostgreSQL database of its own, `loyalty_bench_portal` (migrated, demo/program.json loaded), and fills
it in SQL (INSERT ... SELECT generate_series, no ORM): M members with accounts, each with 5 purchases (a
transaction, its earn entry and lot) spread over the 700 days before the build, except one member with 5,000
entries (4,500 purchases and 500 redemptions of a 500-point reward, each drawing the lot of the purchase
before it) and one with 50 entries alike, all in time order so that a member's rows lie scattered through
the tables as they would when written over two years. `balance_after` is the running sum, the lots hold the
balance, each debit drew exactly its points: `manage.py verify_ledger` runs once after the build. A later run
with the same parameters reuses the database (`--fresh` rebuilds it).

Each run signs clients in by creating Django sessions directly (the portal's session key, as
`member_sign_in` leaves it) and sends their cookie; starts gunicorn on 127.0.0.1:8766 (DEBUG off, plain HTTP
accepted); renders each page in-process to count its queries, EXPLAIN ANALYZE them and time its Python
CPU; then drives each page with C concurrent keep-alive clients (16 by default) for a fixed time, in slices
taken in turn: the overview (`/portal/`), the history (`/portal/history`) and the history filtered by a kind
nobody has (`?kind=clawback`), each (a) for members with 5 entries (every client another one), for the
member with 50 and (b) for the member with 5,000. Then the baseline: the reads each page needs (the session
row, the member, the account with its tier, the tiers, the next expiry, the qualifying points for the tier
progress and the last 5 entries; or a page of 26 entries) as plain psycopg queries from as many threads on
their own connections, against the same PostgreSQL server. The figures go to docs/BENCHMARKS.md under "## Portal",
replacing the previous portal section.

Nothing here is a test: the run fails only when the set-up fails or a page answers with anything but 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import django
import psycopg
from common import (
    HOST,
    ROOT,
    Result,
    admin_connect,
    code_version,
    cpu_sample,
    cpu_split,
    database_ensure,
    database_name,
    gunicorn_start,
    machine_facts,
    merged,
    server_stop,
    timed_loop,
    write_section,
)

sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_portal"
SECTION = "## Portal"
MEMBER_ID = "mem_portal{:014d}"  # 24 characters, as long as a real public id
HEAVY = 1  # the member with many entries (its id; member ids are 1..M)
MEDIUM = 2  # a member with two pages of history (50 entries): the history's rows as many as the heavy one's
MEDIUM_ENTRIES = 50
LIGHT_ENTRIES = 5
REDEEM_POINTS = 500  # the demo program's "Plant a tree" (TREES), a donation: no voucher
REDEEM_REWARD = "TREES"
SPAN_DAYS = 700  # purchases over the 700 days before the build; lots expire 24 months after they were earned
TARGET_P99_MS = 150.0
TARGET_CLIENTS = 16
# "The same figures": the heavy member's CPU per request (gunicorn + PostgreSQL) within 15% of the light one's.
# Throughput and latency swing by more than that between identical phases when other sessions load the machine.
SAME_WITHIN = 0.15
# Bump when the generated data changes, so an old database is rebuilt.
GENERATOR_VERSION = 3  # 2: a member with 50 entries; 3: entries written in time order


# --- the data ------------------------------------------------------------------------------------------------

GENERATE = [
    (
        "entries (staging)",
        """
        CREATE TEMP TABLE gen_entry AS
        WITH raw AS (
            SELECT i AS member_id, k, 1 + floor(random() * 300)::bigint AS amount,
                   %(start)s + random() * make_interval(days => %(span)s) AS at
            FROM generate_series(1, %(members)s) i CROSS JOIN generate_series(0, %(light)s - 1) k
            WHERE i NOT IN (%(heavy)s, %(medium)s)
            UNION ALL
            -- every 10th entry a redemption drawing the whole lot of the purchase before it (of its points)
            SELECT m.id, k, CASE WHEN k %% 10 = 8 THEN %(redeem)s ELSE 1 + floor(random() * 300)::bigint END,
                   %(start)s + ((k + 0.5 * random()) / m.n) * make_interval(days => %(span)s)
            FROM (VALUES (%(heavy)s, %(heavy_entries)s), (%(medium)s, %(medium_entries)s)) m (id, n)
            CROSS JOIN LATERAL generate_series(0, m.n - 1) k
        )
        SELECT row_number() OVER (ORDER BY at, member_id, k) AS j, member_id, k, at,
               member_id IN (%(heavy)s, %(medium)s) AND k %% 10 = 9 AS redeem,
               CASE WHEN member_id IN (%(heavy)s, %(medium)s) AND k %% 10 = 9 THEN -%(redeem)s ELSE amount END
                   AS points,
               CASE WHEN member_id IN (%(heavy)s, %(medium)s) AND k %% 10 = 8 THEN 0 ELSE amount END AS remaining
        FROM raw
        """,
    ),
    ("staging index", "CREATE INDEX ON gen_entry (member_id, k)"),
    (
        "members",
        """
        INSERT INTO members_member (id, public_id, card_number, email, first_name, last_name, phone, locale, status,
            referral_code, marketing_consent, enrolled_at, updated_at, card_number_sha256, erased_by)
        SELECT i, 'mem_portal' || lpad(i::text, 14, '0'), '6' || lpad(i::text, 15, '0'),
               'portal' || i || '@bench.example', 'Bench', 'Member ' || i, '', 'en', 'active',
               'P' || lpad(i::text, 11, '0'), false, %(start)s, %(start)s, '', ''
        FROM generate_series(1, %(members)s) i
        """,
    ),
    (
        "accounts",
        """
        INSERT INTO loyalty_account (id, member_id, available, pending, held, tier_id, tier_valid_until,
            last_purchase_at)
        SELECT i, i, COALESCE(s.available, 0), 0, 0,
               (SELECT t.id FROM loyalty_tier t WHERE t.threshold <= COALESCE(s.qualifying, 0)
                ORDER BY t.threshold DESC LIMIT 1),
               %(now)s + interval '365 days', s.last_purchase
        FROM generate_series(1, %(members)s) i
        LEFT JOIN (
            SELECT member_id, sum(points) AS available, max(at) FILTER (WHERE NOT redeem) AS last_purchase,
                   sum(points) FILTER (WHERE NOT redeem AND at > %(now)s - interval '365 days') AS qualifying
            FROM gen_entry GROUP BY member_id
        ) s ON s.member_id = i
        """,
    ),
    (
        "transactions",
        """
        INSERT INTO loyalty_transaction (id, public_id, shop_id, member_id, external_id, request_hash, occurred_at,
            currency, total, eligible_amount, lines, base_points, qualifying_points, points, breakdown, points_status,
            available_at, refunded_amount, points_clawed_back, points_forgiven, created_at)
        SELECT j, 'txn_p' || lpad(j::text, 19, '0'), %(shop)s, member_id, 'portal-' || j, lpad(to_hex(j), 64, '0'),
               at, 'EUR', points, points, '[]', points, points, points, '[]', 'available', at, 0, 0, 0, at
        FROM gen_entry WHERE NOT redeem ORDER BY gen_entry.j
        """,
    ),
    (
        "entries",
        """
        INSERT INTO loyalty_ledgerentry (id, public_id, account_id, kind, points, pending_points, held_points,
            balance_after, shop_id, transaction_id, reference, actor, description, created_at)
        SELECT j, 'ent_p' || lpad(j::text, 19, '0'), member_id, CASE WHEN redeem THEN 'redeem' ELSE 'earn' END,
               points, 0, 0, sum(points) OVER (PARTITION BY member_id ORDER BY j),
               CASE WHEN redeem THEN NULL ELSE %(shop)s END, CASE WHEN redeem THEN NULL ELSE j END,
               CASE WHEN redeem THEN 'redemption:rdm_p' ELSE 'transaction:txn_p' END || lpad(j::text, 19, '0'),
               CASE WHEN redeem THEN 'member' ELSE 'shop:demo-shop' END,
               CASE WHEN redeem THEN 'redeemed ' || %(reward_name)s ELSE 'purchase portal-' || j END, at
        FROM gen_entry
        ORDER BY gen_entry.j  -- written in time order, not grouped by member as the window function leaves them
        """,
    ),
    (
        "lots",
        """
        INSERT INTO loyalty_pointlot (id, account_id, entry_id, amount, remaining, pending, available_at, expires_at,
            created_at)
        SELECT j, member_id, j, points, remaining, false, at, at + interval '24 months', at
        FROM gen_entry WHERE NOT redeem ORDER BY gen_entry.j
        """,
    ),
    (
        "allocations",
        """
        INSERT INTO loyalty_lotallocation (entry_id, lot_id, points)
        SELECT r.j, p.j, %(redeem)s
        FROM gen_entry r JOIN gen_entry p ON p.member_id = r.member_id AND p.k = r.k - 1
        WHERE r.redeem
        """,
    ),
    (
        "redemptions",
        """
        INSERT INTO rewards_redemption (public_id, reward_id, member_id, shop_id, points, status, entry_id,
            created_at)
        SELECT 'rdm_p' || lpad(j::text, 19, '0'), %(reward)s, member_id, NULL, %(redeem)s, 'issued', j, at
        FROM gen_entry WHERE redeem
        """,
    ),
]
SEQUENCES = [
    "members_member",
    "loyalty_account",
    "loyalty_transaction",
    "loyalty_ledgerentry",
    "loyalty_pointlot",
    "loyalty_lotallocation",
    "rewards_redemption",
]


@dataclass
class Params:
    members: int
    heavy_entries: int

    def marker(self) -> str:
        return json.dumps(
            {"generator": GENERATOR_VERSION, "members": self.members, "heavy_entries": self.heavy_entries},
            sort_keys=True,
        )


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def database_marker(url: str) -> str | None:
    with admin_connect(url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
    return row[0] if row else None


def data_generate(url: str, params: Params) -> float:
    """Fill the freshly migrated database; returns the seconds it took."""
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(0.12)")
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            # Consistent by construction: skip the deferred foreign-key triggers (checked row by row at commit).
            conn.execute("SET session_replication_role = replica")
        shop = conn.execute("SELECT id FROM loyalty_shop WHERE code = 'demo-shop'").fetchone()[0]
        reward, reward_name = conn.execute(
            "SELECT id, name FROM rewards_reward WHERE code = %s", [REDEEM_REWARD]
        ).fetchone()
        values = {
            "members": params.members, "heavy": HEAVY, "heavy_entries": params.heavy_entries,
            "medium": MEDIUM, "medium_entries": MEDIUM_ENTRIES,
            "light": LIGHT_ENTRIES, "redeem": REDEEM_POINTS, "reward": reward, "reward_name": reward_name,
            "shop": shop, "now": now, "start": now - dt.timedelta(days=SPAN_DAYS), "span": SPAN_DAYS,
        }  # fmt: skip
        for name, statement in GENERATE:
            began = time.monotonic()
            rows = conn.execute(statement, values).rowcount
            print(f"  {name}: {max(rows, 0):,} rows in {time.monotonic() - began:.1f} s", flush=True)
        for table in SEQUENCES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 1) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        began = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        print(f"  vacuum analyze: {time.monotonic() - began:.1f} s", flush=True)
    return time.monotonic() - started


def database_prepare(url: str, params: Params, *, fresh: bool, verify: bool) -> list[str]:
    """Build the database when missing, generated with other parameters or `fresh`; else reuse it (migrating
    it to the code's migrations). Returns notes for the report."""
    notes = []
    rebuild = fresh or database_marker(url) != params.marker()
    database_ensure(url, fresh=rebuild)
    manage(url, "migrate", "--noinput")
    if rebuild:
        manage(url, "load_program", str(ROOT / "demo" / "program.json"))
        seconds = data_generate(url, params)
        notes.append(f"data: generated in this run ({seconds:.0f} s)")
        verify = True
    else:
        notes.append("data: the database of an earlier run with the same parameters, reused")
    if verify:
        began = time.monotonic()
        out = manage(url, "verify_ledger")
        print(f"  verify_ledger: {out} ({time.monotonic() - began:.0f} s)", flush=True)
        notes.append(f"`manage.py verify_ledger` on the data: {out} ({time.monotonic() - began:.0f} s)")
    if rebuild:
        with admin_connect(url) as conn:
            conn.execute(f'COMMENT ON DATABASE "{database_name(url)}" IS {psycopg.sql.quote(params.marker())}')
    return notes


# --- sessions and the pages in-process -----------------------------------------------------------------------


@dataclass
class Who:
    label: str  # "5 entries" / "5,000 entries"
    member_ids: list[int]  # one per client (the heavy member: the same one for every client)
    sessions: list[str]  # session keys, one per client


def sessions_create(member_ids: list[int]) -> list[str]:
    """A signed-in session per member, as `member_sign_in` leaves it (expiry already pushed back today, so a
    page view does not write the session)."""
    from django.conf import settings  # noqa: PLC0415 (Django is set up at run time)
    from django.contrib.sessions.backends.db import SessionStore  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from members.portal.session import SESSION_MEMBER, SESSION_SEEN  # noqa: PLC0415

    keys = []
    for member_id in member_ids:
        session = SessionStore()
        session[SESSION_MEMBER] = member_id
        session[SESSION_SEEN] = timezone.localdate().isoformat()
        session.set_expiry(dt.timedelta(days=settings.PORTAL_SESSION_DAYS))
        session.save()
        keys.append(session.session_key)
    return keys


@dataclass
class Page:
    name: str  # "overview" / "history"
    path: str


PAGES = {
    "overview": Page("overview", "/portal/"),
    "history": Page("history", "/portal/history"),
    # filtered by a kind neither member has (refunds): the walk through the member's entries finds nothing
    "history refunds": Page("history refunds", "/portal/history?kind=clawback"),
}


@dataclass
class InProcess:
    queries: int
    sql_ms: float
    cpu_ms: float
    bytes: int
    statements: list[str]
    executed_ms: float = 0.0  # PostgreSQL's execution time of the page's statements (EXPLAIN ANALYZE), summed
    slowest: tuple[float, str, str] = (0.0, "", "")  # (ms, statement, plan) of the slowest


IN_PROCESS_RENDERINGS = 20


def page_in_process(page: Page, session_key: str) -> InProcess:
    """Render the page once (warm-up), once with its queries captured, then IN_PROCESS_RENDERINGS times for the
    CPU time this process spends per rendering (Django, the template, psycopg's side; not PostgreSQL's)."""
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    client = Client(HTTP_HOST=HOST)
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.get(page.path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.path)
    if response.status_code != 200:
        raise SystemExit(f"{page.path} answered {response.status_code} in-process (signed in: {session_key})")
    sql = [q["sql"] for q in captured.captured_queries]
    ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    began = time.process_time()
    for _ in range(IN_PROCESS_RENDERINGS):
        client.get(page.path)
    cpu_ms = (time.process_time() - began) * 1000 / IN_PROCESS_RENDERINGS
    return InProcess(len(sql), ms, cpu_ms, len(response.content), sql)


def explain(url: str, statements: list[str]) -> list[tuple[float, str, str]]:
    """(execution ms, statement, plan) for each SELECT, from EXPLAIN (ANALYZE, BUFFERS), slowest first."""
    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            conn.execute(f"EXPLAIN (ANALYZE) {sql}")  # once to warm the caches
            plan = [row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
            ms = next((float(x.split(":")[1].split()[0]) for x in plan if x.startswith("Execution Time")), 0.0)
            out.append((ms, sql, "\n".join(plan)))
    return sorted(out, reverse=True)


# --- the pages under load -------------------------------------------------------------------------------------


def pages_http(port: int, page: Page, who: Who, clients: int, seconds: float) -> Result:
    from django.conf import settings  # noqa: PLC0415

    cookie = settings.SESSION_COOKIE_NAME

    def work(index: int):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"Cookie": f"{cookie}={who.sessions[index % len(who.sessions)]}"}

        def step():
            try:
                conn.request("GET", page.path, headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                return type(exc).__name__

        return step

    elapsed, latencies, outcomes = timed_loop(clients, seconds, None, work)
    statuses = merged(outcomes)
    ok = statuses.get("200", 0)
    flat = [x for part in latencies for x in part]
    return Result(page.name, clients, elapsed, ok, sum(statuses.values()) - ok, flat, statuses=statuses)


# --- the raw-SQL baseline ---------------------------------------------------------------------------------

SESSION = "SELECT session_data FROM django_session WHERE session_key = %(session)s AND expire_date > now()"
MEMBER = "SELECT * FROM members_member WHERE id = %(member)s"
ACCOUNT = (
    "SELECT a.*, t.code, t.name, t.threshold, t.multiplier FROM loyalty_account a "
    "LEFT JOIN loyalty_tier t ON t.id = a.tier_id WHERE a.member_id = %(member)s"
)
TIERS = "SELECT id, code, name, threshold FROM loyalty_tier ORDER BY threshold"
EXPIRY_FIRST = (
    "SELECT min(expires_at) FROM loyalty_pointlot "
    "WHERE account_id = %(account)s AND pending = false AND remaining > 0 AND expires_at IS NOT NULL"
)
EXPIRY_POINTS = (
    "SELECT sum(remaining) FROM loyalty_pointlot WHERE account_id = %(account)s AND pending = false "
    "AND remaining > 0 AND expires_at IS NOT NULL AND expires_at < %(day_end)s"
)
QUALIFYING = (
    "SELECT COALESCE(sum(qualifying_points), 0) FROM loyalty_transaction "
    "WHERE member_id = %(member)s AND occurred_at > now() - interval '365 days'"
)
ENTRIES = (
    "SELECT e.id, e.kind, e.points, e.balance_after, e.created_at, e.description, s.name, w.name "
    "FROM loyalty_ledgerentry e LEFT JOIN loyalty_shop s ON s.id = e.shop_id "
    "LEFT JOIN rewards_redemption r ON r.entry_id = e.id LEFT JOIN rewards_reward w ON w.id = r.reward_id "
    "WHERE e.account_id = %(account)s ORDER BY e.id DESC LIMIT %(limit)s"
)
ENTRIES_OF_KIND = ENTRIES.replace(
    "WHERE e.account_id = %(account)s", "WHERE e.account_id = %(account)s AND e.kind = %(kind)s"
)
BASELINE_READS = {
    # EXPIRY_POINTS runs with the end of the day EXPIRY_FIRST found, as `next_expiry_of` does
    "overview": [SESSION, MEMBER, ACCOUNT, TIERS, EXPIRY_FIRST, EXPIRY_POINTS, QUALIFYING, ENTRIES],
    "history": [SESSION, MEMBER, ACCOUNT, ENTRIES],
    "history refunds": [SESSION, MEMBER, ACCOUNT, ENTRIES_OF_KIND],
}
BASELINE_LIMIT = {"overview": 5, "history": 26, "history refunds": 26}  # a page of 25 and whether there is more


def baseline(url: str, page: Page, who: Who, clients: int, seconds: float) -> Result:
    """The page's reads as plain statements (autocommit, as Django runs them; psycopg prepares them after five
    uses), from `clients` threads on their own connections."""
    connections = [psycopg.connect(url, autocommit=True) for _ in range(clients)]
    statements = BASELINE_READS[page.name]

    def work(index: int):
        conn = connections[index]
        member = who.member_ids[index % len(who.member_ids)]
        values = {"session": who.sessions[index % len(who.sessions)], "member": member, "account": member,
                  "limit": BASELINE_LIMIT[page.name], "kind": "clawback"}  # fmt: skip

        def step():
            try:
                for statement in statements:
                    rows = conn.execute(statement, values).fetchall()
                    if statement is EXPIRY_FIRST:
                        soonest = rows[0][0] or dt.datetime.now(dt.UTC)
                        values["day_end"] = dt.datetime.combine(soonest.date() + dt.timedelta(days=1), dt.time(),
                                                                tzinfo=soonest.tzinfo)  # fmt: skip
            except psycopg.Error as exc:
                return type(exc).__name__
            return "read"

        return step

    try:
        before = cpu_sample(url)
        elapsed, latencies, outcomes = timed_loop(clients, seconds, None, work)
        cpu = cpu_split(before, cpu_sample(url), None)  # before the backends exit with their CPU time
    finally:
        for conn in connections:
            conn.close()
    statuses = merged(outcomes)
    ok = statuses.get("read", 0)
    flat = [x for part in latencies for x in part]
    return Result("baseline", clients, elapsed, ok, sum(statuses.values()) - ok, flat, statuses=statuses, cpu=cpu)


# --- report ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    page: Page
    who: Who
    result: Result


def versions_extra(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    return {"postgresql": f"{server} (shared_buffers={buffers})", "gunicorn": version("gunicorn")}


def row(run: Run) -> str:
    result = run.result
    cpu, rate = result.cpu, result.throughput

    def per_request(name: str) -> str:
        return f"{cpu.get(name, 0) * 1000 / rate:.2f}" if rate else "–"

    what = "page" if result.name != "baseline" else "baseline"
    return (
        f"| {run.page.name} | {run.who.label} | {what} | {result.clients} | {result.ok} | **{rate:.0f}** | "
        f"{result.pct('p50'):.1f} | {result.pct('p95'):.1f} | **{result.pct('p99'):.1f}** | {result.bad} | "
        f"{per_request('gunicorn') if what == 'page' else '–'} | {per_request('postgres')} | "
        f"{per_request('client')} | {cpu.get('other', 0):.2f} |"
    )


def server_cpu_ms(result: Result) -> float:
    """gunicorn's and PostgreSQL's CPU time per request (the steadier figure on a machine others load)."""
    if not result.throughput:
        return float("nan")
    return (result.cpu.get("gunicorn", 0) + result.cpu.get("postgres", 0)) * 1000 / result.throughput


def versus(result: Result, other: Result | None) -> tuple[str, str]:
    """`result` against `other`: throughput, p50, p99 and CPU per request as shares of the other's, and whether
    they are the same (CPU per request within SAME_WITHIN)."""
    if other is None or other is result or not other.throughput:
        return "–", "–"
    rate, p50 = result.throughput / other.throughput, result.pct("p50") / other.pct("p50")
    cpu = server_cpu_ms(result) / server_cpu_ms(other)
    same = "**same**" if cpu <= 1 + SAME_WITHIN else "**costlier**"
    return f"{rate:.0%} / {p50:.0%} / {result.pct('p99') / other.pct('p99'):.0%} / {cpu:.0%}", same


def verdicts(pages: list[Run], bases: list[Run], clients: int) -> list[str]:
    """One line per page and member at `clients`: p99 against the target, the page against its baseline, and
    the member against the ones with 5 and with 50 entries on the same page."""
    at = [run for run in pages if run.result.clients == clients]
    base = {(r.page.name, r.who.label): r.result for r in bases if r.result.clients == clients}
    few = {r.page.name: r.result for r in at if r.who.label == f"{LIGHT_ENTRIES} entries"}
    some = {r.page.name: r.result for r in at if r.who.label == f"{MEDIUM_ENTRIES} entries"}
    lines = []
    for run in at:
        result, ref = run.result, base.get((run.page.name, run.who.label))
        met = result.pct("p99") <= TARGET_P99_MS and result.bad == 0
        ratio = f"{result.throughput / ref.throughput:.1%}" if ref and ref.throughput else "–"
        vs_few, same_few = versus(result, few.get(run.page.name))
        smaller = run.who.label != f"{LIGHT_ENTRIES} entries"  # compared with members with fewer entries only
        vs_some, same_some = versus(result, some.get(run.page.name) if smaller else None)
        lines.append(
            f"| {run.page.name} | {run.who.label} | {result.throughput:.0f} | {result.pct('p50'):.1f} | "
            f"{result.pct('p99'):.1f} | {'**met**' if met else '**missed**'} | {server_cpu_ms(result):.1f} | "
            f"{ratio} | {vs_few} | {same_few} | "
            f"{vs_some} | {same_some} |"
        )
    return lines


def section(args, facts: dict, notes: list[str], inproc: dict, pages: list[Run], bases: list[Run],
            command: str) -> str:  # fmt: skip
    target = TARGET_CLIENTS if TARGET_CLIENTS in args.client_counts else max(args.client_counts)
    lines = [
        SECTION,
        "",
        "`bench/portal.py`: the signed-in portal's overview (`/portal/`) and history (`/portal/history`, its "
        "first page, and filtered by a kind neither member has, `?kind=clawback`, refunds) through gunicorn, (a) "
        "for members with 5 ledger entries (every client signed in as another one) and (b) for the one member "
        f"with {args.heavy_entries:,} entries, among {args.members:,} members, and a member with "
        f"{MEDIUM_ENTRIES} entries (two pages: the history shows 25 rows for it as for (b), 5 for (a)), "
        "against a raw-SQL baseline in "
        "the same run: the reads each page needs as plain psycopg queries (overview: the session row, the "
        "member, the account with its tier, the tiers, the next expiry's date and points, the qualifying points "
        "of the tier window, the last 5 entries with their shop and reward; history: the session row, the "
        "member, the account, 26 entries with their shop and reward, of the kind when filtered) from as many "
        f"threads on their own connections. Target: p99 ≤ {TARGET_P99_MS:.0f} ms at "
        f"{TARGET_CLIENTS} clients, and the same figures for the member with {args.heavy_entries:,} entries "
        f"as for one with 5 (judged here by the CPU per request, gunicorn's and PostgreSQL's, within "
        f"{SAME_WITHIN:.0%}: when other sessions load the machine, throughput and latency swing by more than that "
        "between identical phases, the CPU per request much less).",
        "",
        "```sh",
        command,
        "```",
        "",
        "It needs PostgreSQL and uses a database of its own, `loyalty_bench_portal` (`--database-url` or "
        "`$BENCH_PORTAL_DATABASE_URL`; `DATABASE_URL` is ignored): built when missing or generated with other "
        "parameters (migrated, `demo/program.json` loaded, the data generated in SQL with `INSERT ... SELECT "
        "generate_series`, `manage.py verify_ledger` run on it), else reused and migrated; `--fresh` rebuilds "
        "it, `dropdb -h 127.0.0.1 -U postgres loyalty_bench_portal` removes it. The data: every member has an "
        "account and 5 purchases (a transaction, its earn entry and lot) over the 700 days before the build; "
        f"the member with {args.heavy_entries:,} entries has {args.heavy_entries * 9 // 10:,} purchases and "
        f"{args.heavy_entries // 10:,} redemptions of a 500-point reward (each drawing the lot of the purchase "
        f"before it), the member with {MEDIUM_ENTRIES} entries likewise; rows of all members interleave in time "
        "order, as written over two years. Clients are "
        "signed in by Django sessions created directly (the portal's session key) and send their cookie over "
        "keep-alive connections (Python threads, one `http.client` connection each); gunicorn runs on "
        "127.0.0.1:8766 (`--port`), DEBUG off. Each page is first rendered once in-process to count its "
        "queries. `--help` lists the options (`--clients`, `--duration`, `--workers`, `--threads`, `--explain` "
        "prints each query's plan).",
        "",
        f"### Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {facts['cpu']}, {facts['ram']} RAM; {facts['os']}; load average before the run {facts['loadavg']}",
        f"- versions: Python {facts['python']}, Django {facts['django']}, psycopg {facts['psycopg']}, "
        f"gunicorn {facts['gunicorn']}, PostgreSQL {facts['postgresql']}",
        f"- code: commit {facts['code']}",
        f"- server: gunicorn `--worker-class {args.worker_class} --workers {args.workers}"
        + (f" --threads {args.threads}`" if args.worker_class == "gthread" else "`")
        + ", DEBUG off, `CONN_MAX_AGE=600`",
        f"- load: {args.duration:g} s per page, member and client count ({args.baseline_duration:g} s for "
        f"the baseline), in {args.rounds} slices taken in turn "
        f"(so that other load falls on every phase alike), after a {args.warmup:g} s warm-up",
        *[f"- {note}" for note in notes],
        "",
        "Each page rendered in-process (Django's test client) before the load: its queries, their execution "
        "time in PostgreSQL (`EXPLAIN ANALYZE` of each, summed; the slowest alone), and this process's CPU time "
        f"per rendering (the mean of {IN_PROCESS_RENDERINGS}: Django, the template and psycopg's side):",
        "",
        "| page | member | queries | PostgreSQL ms | slowest statement ms | Python CPU ms | HTML bytes |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {name} | {label} | {x.queries} | {x.executed_ms:.2f} | {x.slowest[0]:.2f} | {x.cpu_ms:.1f} | "
            f"{x.bytes:,} |"
            for (name, label), x in inproc.items()
        ],
        "",
        "| page | member | what | clients | done | per s | p50 ms | p95 ms | p99 ms | non-200 / failed | CPU ms per "
        "request: gunicorn | postgres | load generator | other load, cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[row(r) for r in pages],
        *[row(r) for r in bases],
        "",
        f"At {target} clients:",
        "",
        f"| page | member | per s | p50 ms | p99 ms | p99 ≤ {TARGET_P99_MS:.0f} ms | CPU ms per request (gunicorn + "
        f"postgres) | page / baseline throughput | against {LIGHT_ENTRIES} entries: throughput / p50 / p99 / CPU | "
        f"same | against {MEDIUM_ENTRIES} entries | same |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *verdicts(pages, bases, target),
        "",
        "CPU per request is CPU time (from /proc) during the phase divided by the requests done: gunicorn's "
        "master and workers; PostgreSQL's backends for this database and its shared processes; the load "
        'generator (this script; for the baseline that is the Python issuing the SQL). "Other load" is what '
        f"the rest of the machine used meanwhile, in cores out of {os.cpu_count()}: anything well above 0 means "
        "other work (tests, builds, other databases) competed for the CPU and the throughput and latency "
        "figures are low and noisy; the CPU per request and the queries per page are steadier. Where the "
        "pages' time goes is written up by hand in the section after this one, when there is one.",
        "",
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------------------


def print_result(page: Page, who: Who, result: Result) -> None:
    print(
        f"  {page.name:8} {who.label:13} {result.name:8} C={result.clients:<3} {result.throughput:8.1f}/s  "
        f"p50 {result.pct('p50'):6.1f}  p95 {result.pct('p95'):6.1f}  p99 {result.pct('p99'):6.1f} ms  "
        f"done {result.ok}  bad {result.bad}  cpu {result.cpu}" + (f"  {result.statuses}" if result.bad else ""),
        flush=True,
    )


def combined(parts: list[Result]) -> Result:
    """One result from slices of the same phase: their requests, latencies and time; CPU weighted by time."""
    seconds = sum(part.seconds for part in parts)
    cpu = {key: round(sum(part.cpu.get(key, 0) * part.seconds for part in parts) / seconds, 2) for key in parts[0].cpu}
    statuses = merged([part.statuses for part in parts])
    latencies = [x for part in parts for x in part.latencies_ms]
    ok, bad = sum(part.ok for part in parts), sum(part.bad for part in parts)
    return Result(parts[0].name, parts[0].clients, seconds, ok, bad, latencies, statuses=statuses, cpu=cpu)


def in_rounds(args, pages: list[Page], whos: list[Who], duration: float, run_slice) -> list[Run]:
    """Every phase (page, member, client count) `duration` seconds in all, in `args.rounds` slices taken in
    turn, so that other load on the machine, which comes and goes, falls on every phase alike."""
    phases = [(page, who, count) for count in args.client_counts for page in pages for who in whos]
    slices: dict[int, list[Result]] = {i: [] for i in range(len(phases))}
    for _ in range(args.rounds):
        for i, (page, who, count) in enumerate(phases):
            slices[i].append(run_slice(page, who, count, duration / args.rounds))
    runs = []
    for i, (page, who, _count) in enumerate(phases):
        runs.append(Run(page, who, combined(slices[i])))
        print_result(page, who, runs[-1].result)
    return runs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_PORTAL_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"$BENCH_PORTAL_DATABASE_URL, default {DEFAULT_DATABASE_URL} (DATABASE_URL is ignored: the "
        "benchmark fills the database with generated members)",
    )
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the database first")
    parser.add_argument("--verify", action="store_true", help="run verify_ledger on a reused database too")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--heavy-entries", type=int, default=5_000, help="entries of the one heavy member")
    parser.add_argument("--clients", default="16", help="comma-separated client counts (default 16)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase (default 15)")
    parser.add_argument("--baseline-duration", type=float, default=6.0, help="seconds per baseline phase (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="slices each phase is taken in, in turn (default 3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"which pages (default {','.join(PAGES)})")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2 * cores, help=f"gunicorn workers (default {2 * cores})")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page's queries")
    parser.add_argument("--skip-baseline", action="store_true", help="pages only (the report is not written)")
    parser.add_argument("--no-report", action="store_true", help="print the figures, leave docs/ alone")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.client_counts = [int(x) for x in args.clients.split(",") if x.strip()]
    if args.heavy_entries % 10 or args.heavy_entries < 10:
        parser.error("--heavy-entries must be a positive multiple of 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DEBUG"] = "0"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["ALLOWED_HOSTS"] = HOST
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    started = time.monotonic()
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    params = Params(args.members, args.heavy_entries)
    try:
        notes = database_prepare(args.database_url, params, fresh=args.fresh, verify=args.verify)
    except Exception:
        print("set-up failed: if the migrations were rewritten since the last run, run again with --fresh")
        raise
    django.setup()
    from django.db import connection  # noqa: PLC0415

    clients = max(args.client_counts)
    rng = random.Random(7)
    light_ids = rng.sample(range(MEDIUM + 1, args.members + 1), clients)
    whos = [
        Who(f"{LIGHT_ENTRIES} entries", light_ids, sessions_create(light_ids)),
        Who(f"{MEDIUM_ENTRIES} entries", [MEDIUM], sessions_create([MEDIUM] * clients)),
        Who(f"{args.heavy_entries:,} entries", [HEAVY], sessions_create([HEAVY] * clients)),
    ]
    pages = [PAGES[name] for name in args.pages.split(",")]
    inproc = {}
    for page in pages:
        for who in whos:
            x = page_in_process(page, who.sessions[0])
            plans = explain(args.database_url, x.statements)
            x.executed_ms = sum(ms for ms, _, _ in plans)
            x.slowest = plans[0] if plans else (0.0, "", "")
            inproc[(page.name, who.label)] = x
            print(
                f"  {page.name:8} {who.label:13} {x.queries} queries, {x.sql_ms:.1f} ms SQL ({x.executed_ms:.2f} ms "
                f"executing, slowest {x.slowest[0]:.2f} ms), {x.cpu_ms:.1f} ms CPU, {x.bytes:,} bytes"
            )
            if args.explain:
                for ms, sql, plan in plans:
                    print(f"\n-- {ms:.3f} ms: {sql}\n{plan}")
    connection.close()
    print(f"set-up done in {time.monotonic() - started:.1f} s", flush=True)
    facts = machine_facts() | versions_extra(args.database_url) | {"code": code_version(), "loadavg": loadavg}

    log = Path(tempfile.gettempdir()) / f"bench-portal-gunicorn-{args.port}.log"
    server = gunicorn_start(args, {"DATABASE_URL": args.database_url}, log)
    runs: list[Run] = []
    try:
        print(f"gunicorn up ({args.worker_class}, {args.workers} workers); warming up {args.warmup:g} s", flush=True)
        for page in pages:
            for who in whos:
                if args.warmup:
                    pages_http(args.port, page, who, clients, args.warmup / len(pages) / len(whos))

        def page_slice(page: Page, who: Who, count: int, seconds: float) -> Result:
            before = cpu_sample(args.database_url)
            result = pages_http(args.port, page, who, count, seconds)
            result.cpu = cpu_split(before, cpu_sample(args.database_url), server.pid)
            return result

        runs = in_rounds(args, pages, whos, args.duration, page_slice)
    finally:
        server_stop(server)
        print("gunicorn stopped", flush=True)

    bases: list[Run] = []
    if not args.skip_baseline:
        bases = in_rounds(args, pages, whos, args.baseline_duration, lambda page, who, count, seconds: baseline(
            args.database_url, page, who, count, seconds))  # fmt: skip

    target = TARGET_CLIENTS if TARGET_CLIENTS in args.client_counts else max(args.client_counts)
    for line in verdicts(runs, bases, target):
        print("  " + line)
    if bases and not args.no_report:
        given = sys.argv[1:] if argv is None else argv
        command = ".venv/bin/python bench/portal.py " + " ".join(given) if given else "make bench-portal"
        write_section(args.report, section(args, facts, notes, inproc, runs, bases, command), SECTION)
        print(f"wrote {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}")
    print(f"total {time.monotonic() - started:.0f} s")
    failed = sum(r.result.bad for r in runs + bases)
    if failed:
        print(f"{failed} requests were not 200 / reads failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
