"""Analytics errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class EventTypeNotAllowed(AppError):
    code = "event_type_not_allowed"
    status_code = 422
    message = "This event type cannot be sent by this caller"


class ImportNotAllowed(AppError):
    code = "import_not_allowed"
    status_code = 403
    message = "Only operators may import events with their own time or account"


class AlertNotFound(AppError):
    code = "alert_not_found"
    status_code = 404
    message = "No such alert"


class AlertRuleNotFound(AppError):
    code = "alert_rule_not_found"
    status_code = 404
    message = "No such alert rule"
