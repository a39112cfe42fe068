"""A throw-away PostgreSQL cluster with the production durability (fsync, synchronous commit).

``tests.services.postgres_server`` turns durability off for the test suite; a
throughput figure for money has to pay for every commit reaching the disk, so
this cluster keeps PostgreSQL's defaults and says so explicitly in its
``postgresql.conf``. The cluster itself is the test suite's (``postgres_cluster``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.services import postgres_cluster

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
    with postgres_cluster(database, settings=settings, timeout=timeout) as (url, data):
        yield Cluster(url=url, data=data, written=dict(settings))
