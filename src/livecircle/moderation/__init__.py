"""Moderation: the sensitive-word filter, rate limits and slow mode, mutes and bans, reports and review.

Exposes ``wordfilter`` (``WordFilter``, ``FilterHolder``, word-list loading; pure, no I/O
beyond reading a list file), ``normalise`` (the folding both text and words go through),
and ``service``/``errors``/``events`` for the stored lists, sanctions and reports.
"""
