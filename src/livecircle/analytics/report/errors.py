"""Report errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class ReportNotFound(AppError):
    code = "report_not_found"
    status_code = 404
    message = "This show has no report yet: it is built when the show ends"


class ShowNotEnded(AppError):
    code = "report_show_not_ended"
    status_code = 409
    message = "A report is built once the show has ended"


class UnknownTarget(AppError):
    code = "unknown_target_metric"
    status_code = 422
    message = "Targets can be set only for the report's figures"


class UnknownTable(AppError):
    code = "unknown_report_table"
    status_code = 422
    message = "No such table in the report"
