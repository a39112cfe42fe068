"""Subscribers and jobs."""

from __future__ import annotations

from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.realtime.hub import Hub


def subscribe(db: Database, hub: Hub) -> None:
    """Room broadcasts after commit (none yet)."""


def register_jobs(runner: JobRunner) -> None:
    """Durable jobs (none yet)."""
