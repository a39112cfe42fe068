"""Tables (none yet)."""
