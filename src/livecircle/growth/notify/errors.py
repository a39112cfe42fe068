"""Notification errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class NotificationNotFound(AppError):
    code = "notification_not_found"
    status_code = 404
    message = "No such notification in your inbox"


class UnsubscribeLinkInvalid(AppError):
    code = "unsubscribe_link_invalid"
    status_code = 400
    message = "This unsubscribe link is not valid"


class WebhookUrlRefused(AppError):
    code = "webhook_url_refused"
    status_code = 422
    message = "Webhooks go to https:// URLs (plain http:// only to localhost / 127.0.0.1)"


class WebhookNotFound(AppError):
    code = "webhook_not_found"
    status_code = 404
    message = "No such webhook endpoint"


class NotOperator(AppError):
    code = "not_operator"
    status_code = 403
    message = "Only operators and admins manage webhooks"


class ShowNotRemindable(AppError):
    code = "show_not_remindable"
    status_code = 409
    message = "Only a show with a start time still ahead can be reminded of"
