"""Operations intelligence: the event log's DuckDB replica, live show metrics, alert
rules, post-show reports, user tags, segments and experiments.

Reads what every other domain records (``kit.tracking``); writes only its own tables.
"""
