"""Errors of the data-rights services (export, deletion, legal holds)."""

from __future__ import annotations

from livecircle.kit.errors import AppError
from livecircle.kit.ratelimit import RateLimited


class ExportNotFound(AppError):
    code = "export_not_found"
    status_code = 404
    message = "No such export"


class ExportGone(AppError):
    code = "export_expired"
    status_code = 410
    message = "This download link has expired; ask for a new copy of your data"


class ExportBusy(RateLimited):
    code = "export_in_progress"
    message = "A copy of your data is being prepared; wait for it to finish"

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after, self.message)


class ExportsPerDay(RateLimited):
    code = "export_limit"
    message = "You asked for a copy of your data several times today; try again later"

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after, self.message)


class DeletionNotFound(AppError):
    code = "deletion_not_found"
    status_code = 404
    message = "No account deletion is scheduled"


class HoldsForAuditorsOnly(AppError):
    code = "forbidden"
    status_code = 403
    message = "Only the platform's auditors (admins) read legal-hold records"
