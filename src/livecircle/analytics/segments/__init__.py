"""Segments computed from the DuckDB replica (``person_events``).

Lifecycle stages, RFM value tiers, K-Means clusters, a churn-risk score with its
validation AUC and the weekly cohort retention table. Every function takes a DuckDB
connection, so the same code runs on a test replica, the node's store and a benchmark.
"""
