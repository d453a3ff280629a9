"""Helpers the benchmarks in bench/ share: their databases, the machine and code they ran on, and their
section of docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django
import psycopg

ROOT = Path(__file__).resolve().parent.parent
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
