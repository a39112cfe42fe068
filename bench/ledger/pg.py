"""A throw-away PostgreSQL cluster with the production durability (fsync, synchronous commit).

``tests.services.postgres_server`` turns durability off for the test suite; a
throughput figure for money has to pay for every commit reaching the disk, so
this cluster keeps PostgreSQL's defaults and says so explicitly in its
``postgresql.conf``. The process and directory helpers are the test suite's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.services import (
    LOOPBACK,
    PG_SUPERUSER,
    ServiceError,
    _pg_conf_line,
    _pg_stop,
    _pg_workdir,
    _run,
    _unprivileged_user,
    _user_switch,
    find_postgres_bindir,
    free_port,
    wait_for_port,
)

# PostgreSQL's own defaults, written out so that the run states them (and a
# conf.d or package default cannot silently differ).
DURABLE_SETTINGS: dict[str, str] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
}
# What the bench reads back from the running server for its report.
REPORTED_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "commit_delay",
    "shared_buffers",
    "max_connections",
    "wal_level",
)


@dataclass(frozen=True, slots=True)
class Cluster:
    url: str  # postgresql+asyncpg://…
    data: Path
    written: dict[str, str]  # the settings appended to postgresql.conf

    @property
    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None


@contextlib.contextmanager
def durable_postgres(
    database: str = "livecircle_bench",
    settings: Mapping[str, str] = DURABLE_SETTINGS,
    timeout: float = 30.0,
) -> Iterator[Cluster]:
    """initdb a cluster on a free loopback port with ``settings``; stopped and removed on exit."""
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ServiceError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    user = _unprivileged_user() if os.geteuid() == 0 else None
    as_user = _user_switch(user) if user is not None else []
    if as_user is None:
        raise ServiceError("running as root and neither runuser nor setpriv is available")
    workdir = _pg_workdir(user)
    data, log, port = workdir / "data", workdir / "postgres.log", free_port()
    written = {
        "listen_addresses": LOOPBACK,
        "port": str(port),
        "unix_socket_directories": str(workdir),
        **settings,
    }
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "--auth=trust", "-E", "UTF8"]
        # --no-sync only skips initdb's own final fsync of the fresh cluster, not the server's.
        _run([*as_user, *initdb, "--locale=C", "--no-sync"], "initdb", workdir, timeout=120)
        with (data / "postgresql.conf").open("a") as conf:  # appending keeps the file's owner
            conf.writelines(_pg_conf_line(key, value) for key, value in written.items())
        try:
            start = [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w"]
            _run(
                [*as_user, *start, "-t", str(int(timeout))],
                "pg_ctl start",
                workdir,
                timeout=timeout + 10,
                logs=[log],
            )
            wait_for_port(LOOPBACK, port, timeout)
            _run(
                [str(bindir / "createdb"), "-h", LOOPBACK, "-p", str(port), "-U", PG_SUPERUSER, database],
                "createdb",
                workdir,
                timeout=timeout,
                logs=[log],
            )
            url = f"postgresql+asyncpg://{PG_SUPERUSER}@{LOOPBACK}:{port}/{database}"
            yield Cluster(url=url, data=data, written=dict(settings))
        finally:
            _pg_stop(as_user, bindir, data, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
