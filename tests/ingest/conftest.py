"""Databases for the ingest tests: SQLite files, and a real PostgreSQL server the tests start.

``sqlite_db`` is a small SQLite file with a few tables. ``postgres`` is a PostgreSQL server
from Debian's ``postgresql`` package (``scripts/install-postgresql.sh``, run by ``make test``),
started once per test session (per xdist worker) in a temporary folder on a free port on
127.0.0.1, with a password-protected role that owns a ``shop`` database; it is stopped and
its folder removed at the end. initdb refuses to run as root, so as root the server commands
run as the ``postgres`` system user (``runuser``) in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PG_USER = "analyst"
PG_PASSWORD = "Sq1-pw-7f3kQ9zX"  # distinctive, so a test can grep every output for it
PG_DATABASE = "shop"
PG_ROWS = 80


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (a refused connection, or a server's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    """An SQLite file with ``people`` (typed columns, 30 rows), ``orders`` and ``empty``."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, "
                    "income REAL, joined TEXT, vip INTEGER, city TEXT)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (i, f"P{i}", 20 + i, 1000.5 + 10 * i if i % 7 else None, f"2021-03-{1 + i % 28:02d}",
             i % 2, "Oslo" if i % 3 else "Rome") for i in range(1, 31)])
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, person INTEGER, amount REAL)")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                        [(i, 1 + i % 30, 5.0 * i) for i in range(1, 101)])
        con.execute("CREATE TABLE empty (a INTEGER, b TEXT)")
    return path


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server: ``url()`` is a SQLAlchemy URL for the test role."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, *, password: bool = False) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql+psycopg://{self.user}{secret}@{self.host}:{self.port}/{self.database}"


def _server_binaries() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (the newest version), if installed."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    versions = [b for b in found if b.parent.name.isdigit()]
    return max(versions, key=lambda b: int(b.parent.name), default=None)


def _missing(message: str) -> None:
    """Fail in CI (where ``make test`` installs the server), skip elsewhere, with the reason."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = _server_binaries()
    if bindir is None or not (bindir / "initdb").exists():
        _missing("PostgreSQL server programs not found in /usr/lib/postgresql/*/bin: run "
                 "`make test` (it runs scripts/install-postgresql.sh) or install Debian's "
                 "postgresql package")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres system user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _missing("running as root, but there is no `postgres` system user to run the "
                     "PostgreSQL server as (Debian's postgresql package creates it)")
        as_user = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp_path: its parent folder is private to root, so the postgres user
    # could not enter it.
    folder = Path(tempfile.mkdtemp(prefix="tabwright-pg-"))
    data, log = folder / "data", folder / "server.log"
    superuser_password = PG_PASSWORD + "-super"
    (folder / "pw").write_text(superuser_password + "\n")
    if owner is not None:
        for path in (folder, folder / "pw"):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log_text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n"
                               f"{done.stderr}\n{log_text}")

    port = free_port()
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={folder / 'pw'}",
        "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
    (folder / "pw").unlink()
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
        f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off", "start")
    try:
        server = Postgres("127.0.0.1", port, PG_USER, PG_PASSWORD, PG_DATABASE)
        _fill(server, superuser_password)
        yield server
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _fill(server: Postgres, superuser_password: str) -> None:
    """The test role owns the ``shop`` database, so only tabwright's read-only guard (not a
    missing privilege) stops it from writing there."""
    with psycopg.connect(host=server.host, port=server.port, user="postgres",
                         password=superuser_password, dbname="postgres", autocommit=True) as con:
        con.execute(f"CREATE ROLE {server.user} LOGIN PASSWORD '{server.password}'")
        con.execute(f"CREATE DATABASE {server.database} OWNER {server.user}")
    with psycopg.connect(host=server.host, port=server.port, user=server.user,
                         password=server.password, dbname=server.database) as con:
        con.execute("""
            CREATE TABLE customers (
                id integer PRIMARY KEY, name text, plan text, signup date,
                balance numeric(10, 2), score double precision, active boolean,
                last_seen timestamptz, visits integer, churned integer)""")
        con.execute(f"""
            INSERT INTO customers
            SELECT i, 'C' || i, CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END,
                   DATE '2022-01-01' + i, (i * 12.5)::numeric(10, 2),
                   CASE WHEN i % 10 = 0 THEN NULL ELSE i / 4.0 END, i % 2 = 0,
                   TIMESTAMPTZ '2024-05-01 12:00:00+00' + i * INTERVAL '1 hour',
                   CASE WHEN i % 9 = 0 THEN NULL ELSE i % 13 END,
                   CASE WHEN i % 4 = 0 OR i % 7 = 0 THEN 1 ELSE 0 END
            FROM generate_series(1, {PG_ROWS}) AS i""")
