"""Growth: follows and reminders, notifications (in-app inbox, e-mail over SMTP, signed
webhooks) with per-user preferences and one-click unsubscribe, and invites with attribution,
vesting and fraud rules. Sub-packages: ``notify`` and ``invites``.
"""
