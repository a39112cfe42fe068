"""Community discussion (社群讨论): posts, announcements and daily topics, comments, likes,
the daily check-in task (打卡), activities with sign-up, reports and the moderation queue.

Everything written goes through the tenant's word filter (block / mask / hold for review).
Exposes ``service`` (what other domains read, e.g. ``list_signup_user_ids`` for reminders),
``events`` (ActivityScheduled, ActivitySignedUp, ...) and the routes.
"""
