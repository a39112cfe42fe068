"""Shared plumbing with no domain knowledge.

Database base and unit of work, after-commit effects, domain events, errors
rendered as problem+json, clock, ids, templating, i18n, logging and metrics.
"""
