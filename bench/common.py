"""Helpers the benchmarks in bench/ share: their databases, the machine and code they ran on, their
section of docs/BENCHMARKS.md, and for the ones that drive a server (earn, portal) the closed-loop load of
C client threads, who used the CPU meanwhile, and stopping gunicorn."""

from __future__ import annotations

import http.client
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django
import psycopg

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPORT_HEADER = (
    "# Benchmarks\n\nEach benchmark in `bench/` compares against a raw-SQL baseline in the same run and writes its "
    "figures to its own section here, replacing the section of its previous run.\n"
)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def database_url_for(url: str, name: str) -> str:
    """`url` with its database name replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_connect(url: str) -> psycopg.Connection:
    """An autocommit connection to the server's `postgres` database, for CREATE and DROP DATABASE."""
    return psycopg.connect(database_url_for(url, "postgres"), autocommit=True)


def database_ensure(url: str, *, fresh: bool) -> bool:
    """Create the database named in `url` if it does not exist (connecting to `postgres` to do it); with
    `fresh`, drop it first. Returns whether it was created."""
    name = database_name(url)
    with admin_connect(url) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}")
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
            return True
    return False


def machine_facts() -> dict[str, str]:
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return {
        "cpu": f"{os.cpu_count()} cores ({model.group(1).strip() if model else platform.machine()})",
        "ram": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
    }


def code_version() -> str:
    """The commit measured, and whether the work tree differed from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_section(path: Path, text: str, heading: str) -> None:
    """Replace the section under `heading` (up to the next `## ` heading) or append it. A heading that merely
    starts the same (`## Earn: where the time goes` for `## Earn`) is another section and stays."""
    current = path.read_text() if path.exists() else REPORT_HEADER
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(updated.rstrip("\n") + "\n")


# --- CPU accounting: who used the two cores during a phase ----------------------------------------------


def _procs() -> dict[int, tuple[str, int, int]]:
    """pid -> (comm, ppid, utime+stime ticks) for every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        out[int(entry.name)] = (comm, int(rest[1]), int(rest[11]) + int(rest[12]))
    return out


def _machine() -> tuple[int, int]:
    """(busy, total) ticks of all CPUs."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class CpuSample:
    procs: dict
    machine: tuple[int, int]
    children: float
    at: float
    foreign: set[int]  # PostgreSQL backends serving other databases (other people's tests)


def cpu_sample(url: str) -> CpuSample:
    with psycopg.connect(url) as conn:
        foreign = {
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND datname <> current_database()"
            )
        }
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSample(_procs(), _machine(), usage.ru_utime + usage.ru_stime, time.monotonic(), foreign)


def cpu_split(before: CpuSample, after: CpuSample, server_pid: int | None) -> dict[str, float]:
    """Cores used on average during the phase: by gunicorn, by PostgreSQL (its backends for this database
    and its shared processes: WAL writer, checkpointer, autovacuum), by the load generator (this process
    plus wrk), by anything else (including PostgreSQL backends of other databases), and by the machine."""
    wall = after.at - before.at

    def cores(ticks: float) -> float:
        return round(ticks / CLK_TCK / wall, 2)

    groups = {"gunicorn": 0, "postgres": 0, "client": 0}
    foreign = before.foreign | after.foreign
    for pid, (comm, ppid, ticks) in after.procs.items():
        used = ticks - before.procs.get(pid, (comm, ppid, 0))[2]
        if server_pid is not None and server_pid in (pid, ppid):
            groups["gunicorn"] += used
        elif comm == "postgres" and pid not in foreign:
            groups["postgres"] += used
        elif pid == os.getpid():
            groups["client"] += used
    busy = (after.machine[0] - before.machine[0]) / (after.machine[1] - before.machine[1]) * (os.cpu_count() or 1)
    split = {name: cores(ticks) for name, ticks in groups.items()}
    split["client"] = round(split["client"] + (after.children - before.children) / wall, 2)
    split["machine"] = round(busy, 2)
    split["other"] = round(max(0.0, busy - sum(v for k, v in split.items() if k != "machine")), 2)
    return split


# --- results ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    clients: int
    seconds: float
    ok: int
    bad: int
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    percentiles: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, name: str) -> float:
        if name in self.percentiles:
            return self.percentiles[name]
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        rank = max(1, round(float(name[1:]) / 100 * len(data) + 0.5))  # nearest rank
        return data[min(rank, len(data)) - 1]


def timed_loop(clients: int, seconds: float, count: int | None, work) -> tuple[float, list[list[float]], list]:
    """Run `work(client_index, latencies, outcomes)` in `clients` threads, each calling it in a loop until
    the deadline (or until `count` calls in all). Returns (elapsed, latencies per thread, outcomes)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    outcomes: list[dict] = [{} for _ in range(clients)]
    budget = [count] if count else None
    budget_lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def take() -> bool:
        if budget is None:
            return time.monotonic() < deadline[0]
        with budget_lock:
            budget[0] -= 1
            return budget[0] >= 0

    def run(index: int) -> None:
        step = work(index)
        start_barrier.wait()
        while take():
            began = time.perf_counter()
            outcome = step()
            latencies[index].append((time.perf_counter() - began) * 1000)
            outcomes[index][outcome] = outcomes[index].get(outcome, 0) + 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    start_barrier.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return time.monotonic() - began, latencies, outcomes


def merged(outcomes: list[dict]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in outcomes:
        for key, value in part.items():
            total[str(key)] = total.get(str(key), 0) + value
    return total


# --- the server under test ----------------------------------------------------------------------------------


class socket_free:
    """Refuse to start when something already listens on the port."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __enter__(self):
        with socket.socket() as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                raise SystemExit(f"{HOST}:{self.port} is already in use; pick another with --port")
        return self

    def __exit__(self, *exc) -> None:
        return None


def server_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_start(args, env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn serving the project on HOST:`args.port` (`args.workers`, `args.worker_class`, `args.threads`)
    with DEBUG off and plain HTTP accepted, `env` on top; returns once /healthz answers."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
        # Longer than a run, so no connection is closed and reopened mid-phase (that would cost a little and
        # hide the closed backend's CPU time from the figures).
        "CONN_MAX_AGE": "600",
        **env,
    }
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{args.port}",
        "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--backlog", "2048", "--keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip
    with socket_free(args.port):
        pass
    handle = log.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection(HOST, args.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    server_stop(process)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log}")
