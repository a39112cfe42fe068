"""Economy ledger benchmark: gift transfers per second on SQLite and a durable PostgreSQL.

Run ``python -m bench.ledger --json``; see ``bench/ledger/__main__.py`` for what is measured.
"""
