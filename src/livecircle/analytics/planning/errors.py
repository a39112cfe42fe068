"""Planning errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class TopicNotFound(AppError):
    code = "topic_not_found"
    status_code = 404
    message = "No such topic"


class SuggestionNotFound(AppError):
    code = "suggestion_not_found"
    status_code = 404
    message = "No such suggestion"


class PlanningForbidden(AppError):
    code = "planning_forbidden"
    status_code = 403
    message = "Hosts and operators of the community plan its shows"


class UnknownKpi(AppError):
    code = "unknown_kpi"
    status_code = 422
    message = "Targets can be set only for the show figures the report has"


class BadMonth(AppError):
    code = "bad_month"
    status_code = 422
    message = "A month is written YYYY-MM (or 'default' for every month without its own targets)"
