"""Notifications: the in-app inbox, e-mail over SMTP and signed tenant webhooks, sent by
``service.do_notify`` per each user's preferences (one-click unsubscribe in every e-mail);
show reminders (预约) to a host's followers and a show's sign-ups on the durable job runner.
Deliveries leave the process from ``delivery.Sender``, never inside a write transaction.
"""
