"""Economy: the double-entry ledger (coins, points), wallets, top-ups, gifts, spending limits."""
