"""Identity errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class EmailTaken(AppError):
    code = "email_taken"
    status_code = 409
    message = "An account with this e-mail already exists"


class InvalidCredentials(AppError):
    code = "invalid_credentials"
    status_code = 401
    message = "E-mail or password is wrong"


class TenantNotFound(AppError):
    code = "tenant_not_found"
    status_code = 404
    message = "No such tenant"


class NotAMember(AppError):
    code = "not_a_member"
    status_code = 403
    message = "This account is not a member of that tenant"


class CsrfFailed(AppError):
    code = "csrf_failed"
    status_code = 403
    message = "The form expired or came from elsewhere; reload the page and try again"


class WrongPassword(AppError):
    code = "wrong_password"
    status_code = 403
    message = "The current password is wrong"
