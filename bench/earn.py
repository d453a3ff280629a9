"""Earn benchmark: POST /api/v1/transactions under load, against a raw-SQL baseline in the same run.

    .venv/bin/python bench/earn.py            # or: make bench-earn

Sets up a PostgreSQL database of its own (`loyalty_bench`: migrated, demo/program.json loaded, N members
with accounts, an API key), starts gunicorn on 127.0.0.1:8765, drives it with C concurrent keep-alive
clients for a fixed time at each C, then runs the baseline: the same writes per purchase in raw SQL
(lock the account FOR UPDATE, insert the transaction, the ledger entry and the lot, update the account,
in one transaction) from C threads on their own psycopg connections, against the same PostgreSQL server.
The figures go to docs/BENCHMARKS.md under "## Earn", replacing the previous earn section.

The load generator is `wrk` with a Lua script when it is installed (apt-get install wrk), else Python
threads with one http.client connection each; `--client` chooses. Nothing here is a test: the run
fails only when the set-up fails or a request is answered with anything but 201.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import django
import psycopg
from common import (
    HOST,
    Result,
    code_version,
    cpu_sample,
    cpu_split,
    database_ensure,
    gunicorn_start,
    machine_facts,
    merged,
    server_stop,
    timed_loop,
    write_section,
)
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"
PATH = "/api/v1/transactions"
SHOP = "demo-shop"
MEMBER_ID = "mem_bench{:015d}"  # 24 characters, as long as a real public id
TARGET_RATIO = 0.15
TARGET_P99_MS = 100.0
TARGET_CLIENTS = 16
SECTION = "## Earn"


# --- set-up --------------------------------------------------------------------------------------------


def card_number(index: int) -> str:
    from members.cards import luhn_check_digit  # noqa: PLC0415 (Django is set up at run time)

    body = f"8{index:014d}"  # generated cards start with 9; these never collide with them
    return body + luhn_check_digit(body)


def django_setup(members: int) -> tuple[str, int]:
    """Migrate, load the demo program, make sure `members` bench members with accounts exist, and create
    an API key. Returns (raw key, shop id)."""
    django.setup()  # after main() chose DATABASE_URL; the project's modules can only be imported now
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from loyalty.ledger.models import Account  # noqa: PLC0415
    from loyalty.program.loading import program_file_read, program_load  # noqa: PLC0415
    from loyalty.shops.models import Shop  # noqa: PLC0415
    from loyalty.shops.services import api_key_create  # noqa: PLC0415
    from members.models import Member  # noqa: PLC0415

    call_command("migrate", interactive=False, verbosity=0)
    program_load(program_file_read(ROOT / "demo" / "program.json"))
    have = Member.objects.filter(public_id__startswith="mem_bench").count()
    if have < members:
        started = time.monotonic()
        batch = 5_000
        for start in range(have, members, batch):
            indices = range(start, min(start + batch, members))
            Member.objects.bulk_create(
                [
                    Member(
                        public_id=MEMBER_ID.format(i),
                        card_number=card_number(i),
                        email=f"bench{i}@bench.example",
                        referral_code=f"B{i:011d}",
                        first_name="Bench",
                        last_name=f"Member {i}",
                    )
                    for i in indices
                ],
                ignore_conflicts=True,
            )
        print(f"created {members - have} members in {time.monotonic() - started:.1f} s")
    # Every member gets an account up front, as members in use have one (the first purchase would make it).
    bench_members = Member.objects.filter(public_id__startswith="mem_bench")
    missing = bench_members.filter(account__isnull=True).values_list("pk", flat=True)
    created = Account.objects.bulk_create([Account(member_id=pk) for pk in missing], batch_size=5_000)
    if created:
        print(f"created {len(created)} accounts")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    shop = Shop.objects.get(code=SHOP)
    _, raw_key = api_key_create(shop=shop, scopes=["transactions:write"], name="bench earn")
    connection.close()
    return raw_key, shop.pk


# --- the API under load ------------------------------------------------------------------------------------


class Purchases:
    """Request bodies: random members, unique external ids, totals of 1.00 to 200.99 EUR."""

    def __init__(self, members: int, tag: str) -> None:
        self.members = members
        self.tag = tag

    def body(self, rng: random.Random, client: int, seq: int) -> bytes:
        return json.dumps(
            {
                "member": MEMBER_ID.format(rng.randrange(self.members)),
                "external_id": f"{self.tag}-{client}-{seq}",
                "currency": "EUR",
                "total": f"{rng.randint(1, 200)}.{rng.randint(0, 99):02d}",
            }
        ).encode()


def api_python(port: int, key: str, purchases: Purchases, clients: int, seconds: float, count: int | None) -> Result:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def work(index: int):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        rng = random.Random(f"{purchases.tag}-{index}")
        seq = [0]

        def step():
            seq[0] += 1
            try:
                conn.request("POST", PATH, body=purchases.body(rng, index, seq[0]), headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                return type(exc).__name__

        return step

    elapsed, latencies, outcomes = timed_loop(clients, seconds, count, work)
    statuses = merged(outcomes)
    ok = statuses.get("201", 0)
    flat = [x for part in latencies for x in part]
    return Result("api", clients, elapsed, ok, sum(statuses.values()) - ok, flat, statuses=statuses)


WRK_LUA = r"""
-- Generated by bench/earn.py: POST /api/v1/transactions, random members, unique external ids.
local MEMBERS = __MEMBERS__
local TAG = "__TAG__"
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  seq = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer __KEY__"
end

function request()
  seq = seq + 1
  local body = string.format(
    '{"member":"mem_bench%015d","external_id":"%s-w%d-%d","currency":"EUR","total":"%d.%02d"}',
    math.random(0, MEMBERS - 1), TAG, tid, seq, math.random(1, 200), math.random(0, 99))
  return wrk.format(nil, "__PATH__", nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do parts[k] = (parts[k] or 0) + v end
  end
  local codes = {}
  for k, v in pairs(parts) do table.insert(codes, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, table.concat(codes, ",")))
end
"""


def api_wrk(wrk: str, port: int, key: str, purchases: Purchases, clients: int, seconds: float) -> Result:
    script = (
        WRK_LUA.replace("__MEMBERS__", str(purchases.members))
        .replace("__TAG__", f"{purchases.tag}-{time.time_ns()}")  # unique per run of wrk
        .replace("__KEY__", key)
        .replace("__PATH__", PATH)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = 1 if clients < 4 else 2
        command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
        command += ["-s", handle.name, f"http://{HOST}:{port}{PATH}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    finally:
        os.unlink(handle.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = {k: v for k, v in data["statuses"].items()}
    for kind, value in data["errors"].items():
        if value:
            statuses[f"socket {kind}"] = value
    ok = statuses.get("201", 0)
    percentiles = {p: data[p] / 1000 for p in ("p50", "p95", "p99")}
    bad = sum(v for k, v in statuses.items() if k != "201")
    return Result("api", clients, data["duration_us"] / 1e6, ok, bad, percentiles=percentiles, statuses=statuses)


# --- the raw-SQL baseline ---------------------------------------------------------------------------------

LOCK = (
    "SELECT a.id, a.available, a.pending, a.held, m.id, m.status FROM loyalty_account a "
    "JOIN members_member m ON m.id = a.member_id WHERE m.public_id = %s FOR UPDATE OF a"
)
INSERT_TRANSACTION = (
    "INSERT INTO loyalty_transaction (public_id, shop_id, member_id, external_id, request_hash, occurred_at, "
    "currency, total, eligible_amount, lines, base_points, qualifying_points, points, breakdown, points_status, "
    "available_at, refunded_amount, points_clawed_back, points_forgiven, created_at) VALUES "
    "(%s, %s, %s, %s, %s, %s, 'EUR', %s, %s, '[]', %s, %s, %s, %s, 'available', %s, 0, 0, 0, %s) RETURNING id"
)
INSERT_ENTRY = (
    "INSERT INTO loyalty_ledgerentry (public_id, account_id, kind, points, pending_points, held_points, "
    "balance_after, reverses_id, shop_id, transaction_id, reference, actor, description, created_at) VALUES "
    "(%s, %s, 'earn', %s, 0, 0, %s, NULL, %s, %s, %s, %s, %s, %s) RETURNING id"
)
INSERT_LOT = (
    "INSERT INTO loyalty_pointlot (account_id, entry_id, amount, remaining, pending, available_at, expires_at, "
    "created_at) VALUES (%s, %s, %s, %s, false, %s, %s, %s)"
)
UPDATE_ACCOUNT = "UPDATE loyalty_account SET available = %s, pending = %s, held = %s WHERE id = %s"


def _public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def baseline(url: str, shop_id: int, purchases: Purchases, clients: int, seconds: float, count: int | None) -> Result:
    connections = [psycopg.connect(url) for _ in range(clients)]
    actor = f"shop:{SHOP}"

    def work(index: int):
        conn = connections[index]
        rng = random.Random(f"{purchases.tag}-sql-{index}")
        seq = [0]

        def step():
            seq[0] += 1
            external_id = f"{purchases.tag}-sql{clients}-{index}-{seq[0]}"
            member = MEMBER_ID.format(rng.randrange(purchases.members))
            total = Decimal(f"{rng.randint(1, 200)}.{rng.randint(0, 99):02d}")
            points = int(total)  # 1 point per EUR, rounded down, as in demo/program.json
            now = dt.datetime.now(dt.UTC)
            expires = now + dt.timedelta(days=730)
            txn_public = _public_id("txn")
            digest = hashlib.sha256(external_id.encode()).hexdigest()
            try:
                with conn.transaction():
                    account_id, available, pending, held, member_id, status = conn.execute(LOCK, [member]).fetchone()
                    if status != "active":
                        return "inactive"
                    txn_id = conn.execute(
                        INSERT_TRANSACTION,
                        [txn_public, shop_id, member_id, external_id, digest, now, total, total, points, points,
                         points, Jsonb([{"source": "base", "points": points}]), now, now],
                    ).fetchone()[0]  # fmt: skip
                    available += points
                    entry_id = conn.execute(
                        INSERT_ENTRY,
                        [_public_id("ent"), account_id, points, available, shop_id, txn_id,
                         f"transaction:{txn_public}", actor, f"purchase {external_id}", now],
                    ).fetchone()[0]  # fmt: skip
                    conn.execute(INSERT_LOT, [account_id, entry_id, points, points, now, expires, now])
                    conn.execute(UPDATE_ACCOUNT, [available, pending, held, account_id])
            except psycopg.Error as exc:
                return type(exc).__name__
            return "committed"

        return step

    try:
        before = cpu_sample(url)
        elapsed, latencies, outcomes = timed_loop(clients, seconds, count, work)
        cpu = cpu_split(before, cpu_sample(url), None)  # before the backends exit with their CPU time
    finally:
        for conn in connections:
            conn.close()
    statuses = merged(outcomes)
    ok = statuses.get("committed", 0)
    flat = [x for part in latencies for x in part]
    return Result("baseline", clients, elapsed, ok, sum(statuses.values()) - ok, flat, statuses=statuses, cpu=cpu)


# --- gunicorn ------------------------------------------------------------------------------------------------


def server_start(args, url: str, log: Path) -> subprocess.Popen:
    env = {
        "DATABASE_URL": url,
        # The throttle stays on, at a rate the run never reaches (the default, 6000/min per process
        # with the per-process cache, would refuse requests within seconds).
        "API_RATE_LIMIT": args.rate_limit,
    }
    return gunicorn_start(args, env, log)


# --- report ---------------------------------------------------------------------------------------------------


def versions_extra(url: str, gunicorn_version: str, wrk: str | None) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "-v"], check=False, capture_output=True, text=True).stdout
        wrk_version = out.split()[1] if out.split() else "?"
    return {"postgresql": f"{server} (synchronous_commit={sync})", "gunicorn": gunicorn_version, "wrk": wrk_version}


def cpu_per_request(result: Result, *groups: str) -> float:
    if not result.throughput:
        return float("nan")
    return sum(result.cpu.get(group, 0) for group in groups) * 1000 / result.throughput


def row(result: Result) -> str:
    cpu, rate = result.cpu, result.throughput

    def per_request(name: str) -> str:
        return f"{cpu.get(name, 0) * 1000 / rate:.2f}" if rate else "–"

    return (
        f"| {result.name} | {result.clients} | {result.ok} | **{rate:.0f}** | {result.pct('p50'):.1f} | "
        f"{result.pct('p95'):.1f} | **{result.pct('p99'):.1f}** | {result.bad} | "
        f"{per_request('gunicorn') if result.name == 'api' else '–'} | {per_request('postgres')} | "
        f"{per_request('client')} | {cpu.get('other', 0):.2f} |"
    )


def section(args, facts: dict, api: list[Result], base: list[Result], command: str, client: str) -> str:
    by_clients = {r.clients: r for r in base}
    lines = [
        SECTION,
        "",
        "`bench/earn.py`: `POST /api/v1/transactions` (a purchase without lines, a random member of "
        f"{args.members:,}, a unique `external_id`) through gunicorn, against a raw-SQL baseline that does the "
        "same writes per purchase (lock the account `FOR UPDATE`, insert the transaction, the ledger entry and "
        "the lot, update the account, in one transaction) from as many threads on their own psycopg "
        "connections, against the same PostgreSQL server, in the same run. Target: at "
        f"{TARGET_CLIENTS} clients the API reaches at least {TARGET_RATIO:.0%} of the baseline's throughput with "
        f"p99 ≤ {TARGET_P99_MS:.0f} ms.",
        "",
        "```sh",
        command,
        "```",
        "",
        "It needs PostgreSQL and uses a database of its own, `loyalty_bench` (`--database-url` or "
        "`$BENCH_DATABASE_URL`; `DATABASE_URL` is ignored so the rows never land in an application database): "
        "created if missing, migrated, `demo/program.json` loaded, members with accounts, a fresh API key. "
        "gunicorn runs on 127.0.0.1:8765 (`--port`) and is stopped at the end. Every run adds rows to the "
        "database and leaves it in place; `--fresh` drops and recreates it first (needed when migrations were "
        "rewritten), and `dropdb -h 127.0.0.1 -U postgres loyalty_bench` removes it. The load generator is wrk "
        "when installed (`apt-get install wrk`), else Python threads. `--help` lists the options (`--clients`, "
        "`--duration`, `--requests`, `--workers`, `--worker-class`, `--threads`, `--client wrk|python`).",
        "",
        "The API does more per purchase than the baseline's five statements (seven with BEGIN and COMMIT): it "
        "checks the `external_id`, runs the earning pipeline, sums the member's qualifying points for tiers and "
        "renders the response, in ten statements with BEGIN, COMMIT and the connection's health check; the API "
        "key and the program settings come from per-process caches (`API_KEY_CACHE_SECONDS`, "
        "`LOYALTY_SETTINGS_CACHE_SECONDS`). The baseline is the floor for the writes alone. Where the API's time "
        "goes is written up by hand in the section after this one, when there is one.",
        "",
        f"### Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {facts['cpu']}, {facts['ram']} RAM; {facts['os']}",
        f"- versions: Python {facts['python']}, Django {facts['django']}, psycopg {facts['psycopg']}, "
        f"gunicorn {facts['gunicorn']}, PostgreSQL {facts['postgresql']}"
        + (f", wrk {facts['wrk']}" if facts.get("wrk") else ""),
        f"- code: commit {facts['code']}",
        f"- server: gunicorn `--worker-class {args.worker_class} --workers {args.workers}"
        + (f" --threads {args.threads}`" if args.worker_class == "gthread" else "`")
        + f", DEBUG off, `API_RATE_LIMIT={args.rate_limit}`, `CONN_MAX_AGE=600`",
        f"- load: {client}; "
        + (f"{args.requests} requests" if args.requests else f"{args.duration:g} s")
        + f" per client count after a {args.warmup:g} s warm-up; {args.members:,} members",
        "",
        "| what | clients | done | per s | p50 ms | p95 ms | p99 ms | non-201 / failed | CPU ms per request: "
        "gunicorn | postgres | load generator | other load, cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[row(r) for r in api],
        *[row(r) for r in base],
        "",
        "| clients | API / baseline throughput | API p99 ms | target | CPU ms per purchase: API (gunicorn + "
        "postgres) | baseline (postgres + its Python) | baseline / API CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in api:
        ref = by_clients.get(result.clients)
        ratio = result.throughput / ref.throughput if ref and ref.throughput else float("nan")
        if result.clients == TARGET_CLIENTS:
            met = ratio >= TARGET_RATIO and result.pct("p99") <= TARGET_P99_MS and result.bad == 0
            verdict = "**met**" if met else "**missed**"
        else:
            verdict = "–"
        api_cpu = cpu_per_request(result, "gunicorn", "postgres")
        base_cpu = cpu_per_request(ref, "postgres", "client") if ref else float("nan")
        lines.append(
            f"| {result.clients} | {ratio:.1%} | {result.pct('p99'):.1f} | {verdict} | {api_cpu:.2f} | "
            f"{base_cpu:.2f} | {base_cpu / api_cpu:.1%} |"
        )
    lines += [
        "",
        "CPU per request is CPU time (from /proc) during the phase divided by the requests done: gunicorn's "
        "master and workers; PostgreSQL's backends for this database and its shared processes (WAL writer, "
        "checkpointer, autovacuum); the load generator (this script, plus wrk; for the baseline that is the "
        'Python issuing the SQL). "Other load" is what the rest of the machine used meanwhile, in cores out '
        f"of {os.cpu_count()}: anything well above 0 means other work (tests, builds, other databases) competed "
        "for the CPU and the throughput figures are low and noisy. The CPU per purchase is steadier under such "
        'noise: when both sides are CPU-bound on the same cores, "baseline / API CPU" is the throughput ratio '
        "to expect on an otherwise idle machine, roughly (the baseline at few clients waits on commits more "
        "than on the CPU).",
        "",
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------------------


def print_result(result: Result) -> None:
    print(
        f"  {result.name:8} C={result.clients:<3} {result.throughput:8.1f}/s  p50 {result.pct('p50'):6.1f}  "
        f"p95 {result.pct('p95'):6.1f}  p99 {result.pct('p99'):6.1f} ms  done {result.ok}  bad {result.bad}  "
        f"cpu {result.cpu}" + (f"  {result.statuses}" if result.bad else ""),
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"$BENCH_DATABASE_URL, default {DEFAULT_DATABASE_URL} (DATABASE_URL is ignored: the benchmark "
        "writes thousands of rows and must not land in the application's database)",
    )
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts (default 1,4,16)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per client count (default 20)")
    parser.add_argument("--requests", type=int, default=None, help="a request count instead of a duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2 * cores, help=f"gunicorn workers (default {2 * cores})")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--client", default="auto", choices=["auto", "wrk", "python"])
    parser.add_argument("--rate-limit", default="1000000/min", help="API_RATE_LIMIT for the server")
    parser.add_argument("--skip-baseline", action="store_true", help="API only (the report is not written)")
    parser.add_argument("--no-report", action="store_true", help="print the figures, leave docs/ alone")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients = [int(x) for x in args.clients.split(",") if x.strip()]
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    wrk = shutil.which("wrk") if args.client in {"auto", "wrk"} and not args.requests else None
    if args.client == "wrk" and not wrk:
        raise SystemExit("wrk is not installed (apt-get install wrk), or --requests was given; use --client python")
    client = (
        "wrk with a Lua script (1 thread below 4 clients, else 2), keep-alive connections"
        if wrk
        else "Python threads, one keep-alive http.client connection each"
    )

    started = time.monotonic()
    database_ensure(args.database_url, fresh=args.fresh)
    try:
        key, shop_id = django_setup(args.members)
    except Exception:
        print("set-up failed: if the migrations were rewritten since the last run, run again with --fresh")
        raise
    print(f"set-up done in {time.monotonic() - started:.1f} s", flush=True)
    tag = f"b{int(time.time())}{secrets.token_hex(2)}"
    purchases = Purchases(args.members, tag)
    facts = machine_facts() | versions_extra(args.database_url, version("gunicorn"), wrk) | {"code": code_version()}

    def api_run(count: int, seconds: float, requests: int | None) -> Result:
        if wrk:
            return api_wrk(wrk, args.port, key, purchases, count, seconds)
        return api_python(args.port, key, Purchases(args.members, f"{tag}-c{count}-{time.time_ns()}"), count,
                          seconds, requests)  # fmt: skip

    log = Path(tempfile.gettempdir()) / f"bench-earn-gunicorn-{args.port}.log"
    server = server_start(args, args.database_url, log)
    api_results: list[Result] = []
    try:
        print(f"gunicorn up ({args.worker_class}, {args.workers} workers); warming up {args.warmup:g} s", flush=True)
        if args.warmup:
            api_run(max(clients), args.warmup, None)
        for count in clients:
            before = cpu_sample(args.database_url)
            result = api_run(count, args.duration, args.requests)
            result.cpu = cpu_split(before, cpu_sample(args.database_url), server.pid)
            api_results.append(result)
            print_result(result)
    finally:
        server_stop(server)
        print("gunicorn stopped", flush=True)

    base_results: list[Result] = []
    if not args.skip_baseline:
        for count in clients:
            result = baseline(args.database_url, shop_id, purchases, count, args.duration, args.requests)
            base_results.append(result)
            print_result(result)

    by_clients = {r.clients: r for r in base_results}
    for result in api_results:
        if result.clients in by_clients and by_clients[result.clients].throughput:
            ref = by_clients[result.clients]
            ratio = result.throughput / ref.throughput
            api_cpu = cpu_per_request(result, "gunicorn", "postgres")
            base_cpu = cpu_per_request(ref, "postgres", "client")
            print(
                f"  API/baseline at C={result.clients}: {ratio:.1%}, API p99 {result.pct('p99'):.1f} ms; CPU ms per "
                f"purchase: API {api_cpu:.2f}, baseline {base_cpu:.2f} ({base_cpu / api_cpu:.1%})"
            )

    if base_results and not args.no_report:
        given = sys.argv[1:] if argv is None else argv
        command = ".venv/bin/python bench/earn.py " + " ".join(given) if given else "make bench-earn"
        write_section(args.report, section(args, facts, api_results, base_results, command, client), SECTION)
        print(f"wrote {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}")
    print(f"total {time.monotonic() - started:.0f} s")
    failed = sum(r.bad for r in api_results + base_results)
    if failed:
        print(f"{failed} requests were not 201 / transactions failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
