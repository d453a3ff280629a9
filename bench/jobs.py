"""Jobs benchmark: `expire_points` and `recalculate_tiers` at scale, against raw-SQL baselines in the same run.

    .venv/bin/python bench/jobs.py            # or: make bench-jobs

Builds a PostgreSQL database of its own, `loyalty_bench_jobs` (migrated, program loaded: rolling expiry of 24
months, tiers bronze 0 / silver 500 / gold 2000 over 365 days), and fills it in SQL (INSERT ... SELECT
generate_series, no ORM): M members with accounts, L lots per member each with its earn entry (balance_after
the running sum, available the sum of the lots), 70% of the lots past their expiry at the run's `--now`, and
T qualifying transactions per member spread over the two years before it. That database is the template:
a later run with the same parameters reuses it. Each run copies it twice (CREATE DATABASE ... TEMPLATE):

- on `_job`, the jobs themselves, each in a fresh Python process (`django.setup()`, then the service
  function, timed around the call; the process reports its own peak RSS), then `manage.py verify_ledger`;
- on `_base`, the baselines: each job's whole work as one SQL statement (a data-modifying CTE) on one
  psycopg connection.

Both copies must end identical (accounts' balances and tiers, lots' remainders, the expire entries,
allocations and tier changes, compared by fingerprint). The figures go to docs/BENCHMARKS.md under
"## Jobs", replacing the previous jobs section. Nothing here is a test: the run fails only when set-up
fails, the copies differ or the ledger does not verify.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from common import (
    ROOT,
    admin_connect,
    code_version,
    database_ensure,
    database_name,
    database_url_for,
    machine_facts,
    write_section,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_jobs"
SECTION = "## Jobs"
DEFAULT_NOW = "2026-01-01T00:00:00+00:00"
TARGET_RATIO = 2.0
TARGET_RSS_MB = 300.0
EXPIRED_SHARE = 0.7  # of the lots, due at --now
LOT_SPAN_DAYS = 300  # lots were earned over this many days ...
EXPIRY_DAYS = 730  # ... and each expires this long after it was earned
TXN_SPAN_DAYS = 730  # transactions over the two years before --now
STRIDE = 7919  # a prime: the k-th row belongs to member (k * STRIDE) % M + 1, so rows interleave in time
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Bump when the generated data changes, so an old template is rebuilt (2: accounts lost updated_at, 0007).
GENERATOR_VERSION = 2

PROGRAM = {
    "program": {
        "name": "Bench",
        "currency": "EUR",
        "points_per_currency_unit": "1",
        "pending_days": 0,
        "expiry": {"policy": "rolling", "months": 24},
        "tier_window_days": 365,
    },
    "tiers": [
        {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
        {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.25"},
        {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "1.5"},
    ],
    "shops": [{"code": "demo-shop", "name": "Demo Shop"}],
}


# --- the data ------------------------------------------------------------------------------------------------

GENERATE = [
    (
        "members",
        """
        INSERT INTO members_member (id, public_id, card_number, email, first_name, last_name, phone, locale, status,
            referral_code, marketing_consent, enrolled_at, updated_at)
        SELECT i, 'mem_jobs' || lpad(i::text, 16, '0'), '7' || lpad(i::text, 15, '0'), 'jobs' || i || '@bench.example',
               'Bench', 'Member ' || i, '', 'en', 'active', 'J' || lpad(i::text, 11, '0'), false,
               %(lots_from)s, %(lots_from)s
        FROM generate_series(1, %(members)s) i
        """,
    ),
    (
        "lots (staging)",
        """
        CREATE TEMP TABLE gen_lot AS
        SELECT j, (j * %(stride)s) %% %(members)s + 1 AS account_id, 1 + floor(random() * 500)::bigint AS amount,
               %(lots_from)s + (j::float8 / %(lots)s) * make_interval(days => %(lot_span)s) AS created_at
        FROM generate_series(0::bigint, %(lots)s - 1) j
        """,
    ),
    (
        "accounts",
        """
        INSERT INTO loyalty_account (id, member_id, available, pending, held, tier_id, tier_valid_until)
        SELECT i, i, COALESCE(s.total, 0), 0, 0,
               CASE i %% 4 WHEN 1 THEN %(bronze)s WHEN 2 THEN %(silver)s WHEN 3 THEN %(gold)s END,
               CASE i %% 4 WHEN 1 THEN %(now)s + interval '90 days' WHEN 2 THEN %(now)s - interval '1 day'
                           WHEN 3 THEN %(now)s + interval '30 days' END
        FROM generate_series(1, %(members)s) i
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM gen_lot GROUP BY account_id) s ON s.account_id = i
        """,
    ),
    (
        "earn entries",
        """
        INSERT INTO loyalty_ledgerentry (id, public_id, account_id, kind, points, pending_points, held_points,
            balance_after, shop_id, reference, actor, description, created_at)
        SELECT j + 1, 'ent_j' || lpad(j::text, 19, '0'), account_id, 'earn', amount, 0, 0,
               sum(amount) OVER (PARTITION BY account_id ORDER BY j), %(shop)s, 'bench', 'shop:demo-shop',
               'bench earn', created_at
        FROM gen_lot
        """,
    ),
    (
        "lots",
        """
        INSERT INTO loyalty_pointlot (id, account_id, entry_id, amount, remaining, pending, available_at, expires_at,
            created_at)
        SELECT j + 1, account_id, j + 1, amount, amount, false, created_at,
               created_at + make_interval(days => %(expiry_days)s), created_at
        FROM gen_lot
        """,
    ),
    (
        "transactions",
        """
        INSERT INTO loyalty_transaction (id, public_id, shop_id, member_id, external_id, request_hash, occurred_at,
            currency, total, eligible_amount, lines, base_points, qualifying_points, points, breakdown, points_status,
            available_at, refunded_amount, points_clawed_back, points_forgiven, created_at)
        SELECT i + 1, 'txn_j' || lpad(i::text, 19, '0'), %(shop)s, member_id, 'jobs-' || i, lpad(to_hex(i), 64, '0'),
               occurred_at, 'EUR', q, q, '[]', q, q, q, '[]', 'available', occurred_at, 0, 0, 0, occurred_at
        FROM (
            SELECT i, (i * %(stride)s) %% %(members)s + 1 AS member_id,
                   %(now)s - make_interval(days => %(txn_span)s)
                       + (i::float8 / %(transactions)s) * make_interval(days => %(txn_span)s) AS occurred_at,
                   -- members differ in how much they buy, so the window's sums spread over the three tiers
                   floor(random() * (20 + ((i * %(stride)s) %% %(members)s %% 10) * 50))::bigint AS q
            FROM generate_series(0::bigint, %(transactions)s - 1) i
        ) s
        """,
    ),
]
SEQUENCES = ["members_member", "loyalty_account", "loyalty_ledgerentry", "loyalty_pointlot", "loyalty_transaction"]


@dataclass
class Params:
    members: int
    lots_per_member: int
    transactions_per_member: int
    now: dt.datetime

    @property
    def lots(self) -> int:
        return self.members * self.lots_per_member

    @property
    def transactions(self) -> int:
        return self.members * self.transactions_per_member

    def marker(self) -> str:
        return json.dumps(
            {"generator": GENERATOR_VERSION, "members": self.members, "lots_per_member": self.lots_per_member,
             "transactions_per_member": self.transactions_per_member, "now": self.now.isoformat()},
            sort_keys=True,
        )  # fmt: skip


def manage(url: str, *args: str, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=capture, text=True, check=False
    )
    if done.returncode and check:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def template_marker(url: str) -> str | None:
    with admin_connect(url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
    return row[0] if row else None


def template_build(url: str, params: Params) -> float:
    """(Re)create the template database with the generated data; returns the seconds the data took."""
    database_ensure(url, fresh=True)
    manage(url, "migrate", "--noinput")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(PROGRAM, handle)
    try:
        manage(url, "load_program", handle.name)
    finally:
        os.unlink(handle.name)
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(0.42)")
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            # The rows are consistent by construction: skip the (deferred) foreign-key triggers, which would
            # otherwise check 4 million references one by one at commit.
            conn.execute("SET session_replication_role = replica")
        tiers = dict(conn.execute("SELECT code, id FROM loyalty_tier").fetchall())
        shop = conn.execute("SELECT id FROM loyalty_shop WHERE code = 'demo-shop'").fetchone()[0]
        values = {
            "members": params.members, "lots": params.lots, "transactions": params.transactions,
            "stride": STRIDE, "now": params.now, "shop": shop, "expiry_days": EXPIRY_DAYS,
            "lots_from": params.now - dt.timedelta(days=EXPIRY_DAYS + EXPIRED_SHARE * LOT_SPAN_DAYS),
            "lot_span": LOT_SPAN_DAYS, "txn_span": TXN_SPAN_DAYS,
            "bronze": tiers["bronze"], "silver": tiers["silver"], "gold": tiers["gold"],
        }  # fmt: skip
        for name, statement in GENERATE:
            began = time.monotonic()
            rows = conn.execute(statement, values).rowcount
            print(f"  {name}: {rows:,} rows in {time.monotonic() - began:.1f} s", flush=True)
        for table in SEQUENCES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 1) FROM {table}))"
            )
        began = time.monotonic()
        conn.commit()  # the deferred foreign keys are checked here
        print(f"  commit: {time.monotonic() - began:.1f} s", flush=True)
        conn.autocommit = True
        began = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        print(f"  vacuum analyze: {time.monotonic() - began:.1f} s", flush=True)
    with admin_connect(url) as conn:
        conn.execute(f'COMMENT ON DATABASE "{database_name(url)}" IS {psycopg.sql.quote(params.marker())}')
    return time.monotonic() - started


def database_copy(template_url: str, name: str) -> str:
    """A fresh copy of the template database, by file copy; returns its URL."""
    with admin_connect(template_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(30):  # autovacuum or a late backend may still be connected to the template
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(template_url)}" STRATEGY FILE_COPY')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 29:
                    raise
                time.sleep(1)
    return database_url_for(template_url, name)


def database_drop(url: str) -> None:
    with admin_connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


# --- CPU -----------------------------------------------------------------------------------------------------


def proc_ticks(pid: int) -> int:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[11]) + int(rest[12])


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all CPUs."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def machine_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total * (os.cpu_count() or 1) if total else 0.0


# --- measuring ---------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    what: str
    seconds: float
    python_cpu: float = 0.0  # seconds of the job's Python process (none for the baseline)
    postgres_cpu: float = 0.0  # seconds of the PostgreSQL backend serving it
    machine_cores: float = 0.0  # cores the whole machine used meanwhile
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    summary: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def other_cores(self) -> float:
        own = (self.python_cpu + self.postgres_cpu) / self.seconds if self.seconds else 0.0
        return max(0.0, self.machine_cores - own)


def child(job: str, now: str, chunk_size: int) -> None:
    """Run in a fresh process (`--child`): set Django up, time the job function, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.db import connection  # noqa: PLC0415

    from loyalty.jobs.registry import JOBS  # noqa: PLC0415

    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    at = dt.datetime.fromisoformat(now)
    cpu_before, pg_before, machine_before = time.process_time(), proc_ticks(backend), machine_ticks()
    began = time.perf_counter()
    run = JOBS[job](now=at, chunk_size=chunk_size)
    seconds = time.perf_counter() - began
    result = {
        "seconds": seconds,
        "python_cpu": time.process_time() - cpu_before,
        "postgres_cpu": (proc_ticks(backend) - pg_before) / CLK_TCK,
        "machine_cores": machine_cores(machine_before, machine_ticks()),
        "rss_start_mb": rss_start,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "summary": run.summary(),
        "chunks": run.chunks,
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


def job_run(url: str, job: str, now: dt.datetime, chunk_size: int) -> Measure:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", job, "--now", now.isoformat()]
    command += ["--chunk-size", str(chunk_size)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"{job} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Measure(
        job, data["seconds"], data["python_cpu"], data["postgres_cpu"], data["machine_cores"], data["rss_start_mb"],
        data["rss_peak_mb"], data["summary"], {"chunks": data["chunks"]},
    )  # fmt: skip


EXPIRE_BASELINE = """
WITH due AS (
    SELECT id, account_id, remaining FROM loyalty_pointlot
    WHERE remaining > 0 AND NOT pending AND expires_at <= %(now)s
),
totals AS (SELECT account_id, sum(remaining) AS points, count(*) AS lots FROM due GROUP BY account_id),
accounts AS (
    UPDATE loyalty_account a SET available = a.available - t.points FROM totals t WHERE a.id = t.account_id
    RETURNING a.id, a.available, t.points
),
entries AS (
    INSERT INTO loyalty_ledgerentry (public_id, account_id, kind, points, pending_points, held_points, balance_after,
        reference, actor, description, created_at)
    SELECT 'ent_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24), id, 'expire', -points, 0, 0, available,
           '', 'job:expire_points', points || ' points expired', %(now)s
    FROM accounts
    RETURNING id, account_id
),
allocations AS (
    INSERT INTO loyalty_lotallocation (entry_id, lot_id, points)
    SELECT entries.id, due.id, due.remaining FROM due JOIN entries USING (account_id)
),
zeroed AS (UPDATE loyalty_pointlot l SET remaining = 0 FROM due WHERE l.id = due.id)
SELECT 'expire_points: ' || COALESCE(sum(points), 0) || ' points expired, ' || count(*) || ' members, '
       || COALESCE(sum(lots), 0) || ' lots'
FROM totals
"""

TIERS_BASELINE = """
WITH qualifying AS (
    SELECT member_id, sum(qualifying_points) AS points FROM loyalty_transaction
    WHERE occurred_at > %(since)s GROUP BY member_id
),
state AS (
    SELECT a.id, a.tier_id, cur.threshold AS current_threshold, COALESCE(cur.rank, -1) AS current_rank,
           a.tier_valid_until IS NULL OR a.tier_valid_until <= %(now)s AS expired,
           COALESCE(q.points, 0) AS points, best.id AS best_id, COALESCE(best.rank, -1) AS best_rank
    FROM loyalty_account a
    LEFT JOIN qualifying q ON q.member_id = a.member_id
    LEFT JOIN loyalty_tier cur ON cur.id = a.tier_id
    LEFT JOIN LATERAL (
        SELECT id, rank FROM loyalty_tier WHERE threshold <= COALESCE(q.points, 0) ORDER BY rank DESC LIMIT 1
    ) best ON true
),
decided AS (
    SELECT *, CASE
        WHEN best_rank > current_rank THEN 'upgrade'
        WHEN tier_id IS NOT NULL AND expired AND points < current_threshold THEN 'downgrade'
        WHEN tier_id IS NOT NULL AND expired THEN 'renewed'
    END AS action
    FROM state
),
updated AS (
    UPDATE loyalty_account a
    SET tier_id = CASE WHEN d.action = 'renewed' THEN a.tier_id ELSE d.best_id END,
        tier_valid_until = CASE WHEN d.action = 'renewed' OR d.best_id IS NOT NULL THEN %(renewed)s END
    FROM decided d WHERE a.id = d.id AND d.action IS NOT NULL
),
changes AS (
    INSERT INTO loyalty_tierchange (account_id, from_tier_id, to_tier_id, reason, qualifying_points, valid_until,
        created_at)
    SELECT id, tier_id, best_id, action, points, CASE WHEN best_id IS NOT NULL THEN %(renewed)s END, %(now)s
    FROM decided WHERE action IN ('upgrade', 'downgrade')
)
SELECT 'recalculate_tiers: ' || string_agg(n || ' ' || action || CASE WHEN action = 'renewed' THEN '' ELSE 's' END,
       ', ' ORDER BY action)
FROM (SELECT action, count(*) AS n FROM decided WHERE action IS NOT NULL GROUP BY action) c
"""


def baseline_run(url: str, what: str, statement: str, values: dict) -> Measure:
    with psycopg.connect(url) as conn:
        backend = conn.info.backend_pid
        pg_before, machine_before = proc_ticks(backend), machine_ticks()
        began = time.perf_counter()
        summary = conn.execute(statement, values).fetchone()[0]
        conn.commit()
        seconds = time.perf_counter() - began
        pg_cpu = (proc_ticks(backend) - pg_before) / CLK_TCK
        cores = machine_cores(machine_before, machine_ticks())
    return Measure(what, seconds, 0.0, pg_cpu, cores, summary=summary)


# --- comparing -----------------------------------------------------------------------------------------------

FINGERPRINTS = {
    "accounts": "SELECT md5(string_agg(concat_ws(':', id, available, pending, held, tier_id, "
    "extract(epoch FROM tier_valid_until)), ',' ORDER BY id)) FROM loyalty_account",
    "lots": "SELECT md5(string_agg(remaining::text, ',' ORDER BY id)) FROM loyalty_pointlot",
    "expire entries": "SELECT md5(string_agg(concat_ws(':', account_id, points, balance_after, description), ',' "
    "ORDER BY account_id, id)) FROM loyalty_ledgerentry WHERE kind = 'expire'",
    "allocations": "SELECT md5(string_agg(concat_ws(':', e.account_id, a.lot_id, a.points), ',' "
    "ORDER BY a.lot_id, e.account_id)) FROM loyalty_lotallocation a JOIN loyalty_ledgerentry e ON e.id = a.entry_id",
    "tier changes": "SELECT md5(string_agg(concat_ws(':', account_id, from_tier_id, to_tier_id, reason, "
    "qualifying_points, extract(epoch FROM valid_until)), ',' ORDER BY account_id, id)) FROM loyalty_tierchange",
}
TOTALS = """
SELECT (SELECT COALESCE(-sum(points), 0)::bigint FROM loyalty_ledgerentry WHERE kind = 'expire'),
       (SELECT count(*) FROM loyalty_ledgerentry WHERE kind = 'expire'),
       (SELECT count(DISTINCT account_id) FROM loyalty_ledgerentry WHERE kind = 'expire'),
       (SELECT count(*) FROM loyalty_lotallocation),
       (SELECT count(*) FROM loyalty_tierchange),
       (SELECT count(*) FROM loyalty_account WHERE tier_valid_until > %(now)s)
"""
TOTAL_NAMES = ["points expired", "expire entries", "accounts with one", "allocations", "tier changes",
               "accounts with a valid tier"]  # fmt: skip


def state_of(url: str, now: dt.datetime) -> tuple[dict[str, str], dict[str, int]]:
    with psycopg.connect(url) as conn:
        prints = {name: conn.execute(sql).fetchone()[0] for name, sql in FINGERPRINTS.items()}
        totals = dict(zip(TOTAL_NAMES, conn.execute(TOTALS, {"now": now}).fetchone(), strict=True))
    return prints, totals


# --- report --------------------------------------------------------------------------------------------------


def versions_extra(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("shared_buffers", "work_mem", "synchronous_commit")
        }
    return {"postgresql": server, "pg_settings": ", ".join(f"{k}={v}" for k, v in settings.items())}


def section(args, params: Params, facts: dict, rows: list[tuple[Measure, Measure]], totals: dict, checks: list[str],
            command: str, generated: str) -> str:  # fmt: skip
    lines = [
        SECTION,
        "",
        "`bench/jobs.py`: the periodic jobs `expire_points` and `recalculate_tiers` over a generated PostgreSQL "
        "database, each in a fresh Python process (`django.setup()`, then the service function as `run_job` calls "
        "it, timed around the call), against a raw-SQL baseline that does the same job's whole work in one "
        "statement (a data-modifying CTE) on a copy of the same data, in the same run. Targets: each job within "
        f"{TARGET_RATIO:g}× its baseline's time, with a peak RSS below {TARGET_RSS_MB:.0f} MB.",
        "",
        "```sh",
        command,
        "```",
        "",
        "It needs PostgreSQL and uses a database of its own, `loyalty_bench_jobs` (`--database-url` or "
        "`$BENCH_JOBS_DATABASE_URL`; `DATABASE_URL` is ignored), as a template: built (migrated, program loaded, "
        "data generated in SQL with `INSERT ... SELECT generate_series`) when missing or generated with other "
        "parameters, else reused. Every run copies it to `loyalty_bench_jobs_job` (the jobs, then "
        "`manage.py verify_ledger`) and `loyalty_bench_jobs_base` (the baselines) with `CREATE DATABASE ... "
        "TEMPLATE`, compares the two copies and drops them (`--keep` keeps them); `--fresh` rebuilds the template. "
        "`--members`, `--lots-per-member`, `--transactions-per-member` scale the data, `--chunk-size` is the jobs' "
        "chunk; `--help` lists the rest.",
        "",
        f"The data: {params.members:,} members with accounts; {params.lots_per_member} lots each "
        f"({params.lots:,}), each with its earn entry (`balance_after` the running sum, `available` the sum of the "
        f"lots, nothing spent), earned over {LOT_SPAN_DAYS} days and expiring {EXPIRY_DAYS} days later, so that "
        f"{EXPIRED_SHARE:.0%} are due at `--now` ({params.now:%Y-%m-%d}); {params.transactions_per_member} "
        f"transactions each ({params.transactions:,}) spread over the {TXN_SPAN_DAYS} days before it, qualifying "
        "points drawn so the 365-day sums spread over bronze (0) / silver (500) / gold (2000); a quarter of the "
        "accounts each with no tier, bronze valid 90 more days, silver expired yesterday (renew or downgrade), gold "
        "valid 30 more days. Rows of one member interleave with all the others in id order, as they would when "
        "written over time.",
        "",
        f"### Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {facts['cpu']}, {facts['ram']} RAM; {facts['os']}",
        f"- versions: Python {facts['python']}, Django {facts['django']}, psycopg {facts['psycopg']}, "
        f"PostgreSQL {facts['postgresql']} ({facts['pg_settings']})",
        f"- code: commit {facts['code']}",
        f"- data: {generated}",
        f"- jobs: chunk size {args.chunk_size}, `DEBUG` off",
        "",
        "| job | job s | baseline s | job / baseline | target | job CPU s: Python | job CPU s: PostgreSQL | "
        "baseline CPU s: PostgreSQL | job RSS MB: after set-up | peak | target | other load, cores (job / baseline) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for job, base in rows:
        ratio = job.seconds / base.seconds if base.seconds else float("nan")
        lines.append(
            f"| `{job.what}` | **{job.seconds:.1f}** | {base.seconds:.1f} | **{ratio:.2f}×** | "
            f"{'met' if ratio <= TARGET_RATIO else '**missed**'} | {job.python_cpu:.1f} | {job.postgres_cpu:.1f} | "
            f"{base.postgres_cpu:.1f} | {job.rss_start_mb:.0f} | **{job.rss_peak_mb:.0f}** | "
            f"{'met' if job.rss_peak_mb < TARGET_RSS_MB else '**missed**'} | "
            f"{job.other_cores:.2f} / {base.other_cores:.2f} |"
        )
    lines += ["", "What each side reported:", ""]
    for job, base in rows:
        lines += [f"- job: `{job.summary}`", f"- baseline: `{base.summary}`"]
    lines += [
        "",
        "Checks: " + "; ".join(checks) + ". Totals on both copies: "
        + ", ".join(f"{name} {value:,}" for name, value in totals.items()) + ".",
        "",
        "Seconds are wall time around the call (the job) or the statement and its commit (the baseline). CPU is "
        "from /proc: the job's Python process and the PostgreSQL backend serving either side. RSS is the job "
        "process's own peak (`ru_maxrss`), Django and the project loaded included; the first figure is after "
        "`django.setup()` and connecting. \"Other load\" is what the rest of the machine used meanwhile, in cores "
        f"out of {os.cpu_count()}: well above 0 means other work (tests, builds) competed for the CPU and the "
        "seconds are high and noisy. Where the jobs' time goes is written up by hand in the section after this "
        "one, when there is one.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_JOBS_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"the template database: $BENCH_JOBS_DATABASE_URL, default {DEFAULT_DATABASE_URL} (DATABASE_URL is "
        "ignored); the copies are named after it with _job and _base",
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the template database even if it fits")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lots-per-member", type=int, default=10)
    parser.add_argument("--transactions-per-member", type=int, default=20)
    parser.add_argument("--now", default=DEFAULT_NOW, help=f"the jobs' now, ISO 8601 (default {DEFAULT_NOW})")
    parser.add_argument("--chunk-size", type=int, default=1000, help="the jobs' chunk size (default 1000)")
    parser.add_argument("--jobs", default="expire_points,recalculate_tiers", help="comma-separated, default both")
    parser.add_argument("--keep", action="store_true", help="keep the _job and _base copies for inspection")
    parser.add_argument("--skip-verify", action="store_true", help="skip manage.py verify_ledger on the job copy")
    parser.add_argument("--no-report", action="store_true", help="print the figures, leave docs/ alone")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run this job in this process
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.now, args.chunk_size)
        return 0
    now = dt.datetime.fromisoformat(args.now)
    if now.tzinfo is None:
        raise SystemExit("--now needs an offset, e.g. 2026-01-01T00:00:00+00:00")
    params = Params(args.members, args.lots_per_member, args.transactions_per_member, now)
    jobs = [x.strip() for x in args.jobs.split(",") if x.strip()]
    unknown = set(jobs) - {"expire_points", "recalculate_tiers"}
    if unknown:
        raise SystemExit(f"unknown jobs: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    template = args.database_url
    name = database_name(template)

    if args.fresh or template_marker(template) != params.marker():
        print(f"building {name}: {params.members:,} members, {params.lots:,} lots, {params.transactions:,} "
              "transactions", flush=True)  # fmt: skip
        seconds = template_build(template, params)
        generated = f"generated in {seconds:.0f} s this run (SQL, then VACUUM ANALYZE)"
        print(f"built {name}: {seconds:.1f} s", flush=True)
    else:
        if manage(template, "migrate", "--check", check=False).returncode:
            raise SystemExit(f"{name} predates a migration: run again with --fresh to rebuild it")
        generated = "the template database of an earlier run with the same parameters, reused"
        print(f"reusing {name}", flush=True)
    facts = machine_facts() | versions_extra(template) | {"code": code_version()}

    began = time.monotonic()
    job_url = database_copy(template, f"{name}_job")
    base_url = database_copy(template, f"{name}_base")
    print(f"copied to {name}_job and {name}_base in {time.monotonic() - began:.1f} s", flush=True)

    rows: list[tuple[Measure, Measure]] = []
    checks: list[str] = []
    failed = False
    try:
        with psycopg.connect(template) as conn:
            window_days = conn.execute("SELECT tier_window_days FROM loyalty_program").fetchone()[0]
        values = {
            "now": now,
            "since": now - dt.timedelta(days=window_days),
            "renewed": now + dt.timedelta(days=window_days),
        }
        for job in jobs:
            measured = job_run(job_url, job, now, args.chunk_size)
            print(f"  job      {job}: {measured.seconds:.1f} s, RSS {measured.rss_peak_mb:.0f} MB, "
                  f"{measured.summary}", flush=True)  # fmt: skip
            statement = EXPIRE_BASELINE if job == "expire_points" else TIERS_BASELINE
            base = baseline_run(base_url, job, statement, values)
            print(f"  baseline {job}: {base.seconds:.1f} s, {base.summary}", flush=True)
            rows.append((measured, base))
            again = job_run(job_url, job, now, args.chunk_size)  # idempotent: a rerun finds nothing to do
            if "nothing due" not in again.summary:
                failed = True
            checks.append(f"`{job}` run again on the job copy: `{again.summary}`")
            print(f"  rerun    {job}: {again.summary}", flush=True)

        job_state, job_totals = state_of(job_url, now)
        base_state, base_totals = state_of(base_url, now)
        differ = [key for key in job_state if job_state[key] != base_state[key]]
        differ += [key for key in job_totals if job_totals[key] != base_totals[key]]
        if differ:
            failed = True
            checks.append(f"**the copies differ** in {', '.join(differ)} (job {job_totals}, baseline {base_totals})")
        else:
            checks.append("job and baseline copies identical (" + ", ".join(FINGERPRINTS) + ")")
        if "expire_points" in jobs and job_totals["expire entries"] != job_totals["accounts with one"]:
            failed = True
            checks.append("**an account has more than one expire entry**")
        print(f"  totals: job {job_totals}; baseline {base_totals}", flush=True)
        if not args.skip_verify:
            began = time.monotonic()
            done = manage(job_url, "verify_ledger")
            verdict = done.stdout.strip().splitlines()[-1]
            checks.append(f"`verify_ledger` on the job copy: {verdict} ({time.monotonic() - began:.0f} s)")
            print(f"  verify_ledger: {verdict}", flush=True)
    finally:
        if not args.keep:
            database_drop(job_url)
            database_drop(base_url)

    for job, base in rows:
        print(
            f"  {job.what}: job {job.seconds:.1f} s vs baseline {base.seconds:.1f} s = "
            f"{job.seconds / base.seconds:.2f}× (target ≤ {TARGET_RATIO:g}×); peak RSS {job.rss_peak_mb:.0f} MB "
            f"(target < {TARGET_RSS_MB:.0f}); CPU Python {job.python_cpu:.1f} s, PostgreSQL {job.postgres_cpu:.1f} s "
            f"vs {base.postgres_cpu:.1f} s; other load {job.other_cores:.2f} / {base.other_cores:.2f} cores"
        )
    if rows and not args.no_report and not failed:
        given = sys.argv[1:] if argv is None else argv
        command = ".venv/bin/python bench/jobs.py " + " ".join(given) if given else "make bench-jobs"
        write_section(args.report, section(args, params, facts, rows, job_totals, checks, command, generated), SECTION)
        print(f"wrote {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}")
    print(f"total {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
