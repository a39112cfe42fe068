"""Invites (邀请裂变): the personal link and its opens, one invite record per invited sign-up,
the invitee's first paid order, rewards that vest only after the invitee watched or paid, the
fraud rules (self-invites, bursts from one IP or device, a daily cap per inviter) and the
leaderboard. Exposes ``service``, ``events`` and the routes; ``tasks`` subscribes to identity,
live and commerce events."""
