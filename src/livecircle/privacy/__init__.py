"""Privacy and trust: the data map, consent records, the audit log, export and erasure.

The lowest domain layer: every other domain may tag its columns and write audit entries."""
