"""Consent errors: each names the purpose it is about."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class ConsentRequired(AppError):
    """The action needs a consent the member has not given (or gave for an older notice)."""

    code = "consent_required"
    status_code = 403
    message = "This needs your consent first"


class ConsentNotWithdrawable(AppError):
    code = "consent_not_withdrawable"
    status_code = 409
    message = "The terms are what the service runs on: to leave them, delete your account"


class ConsentNotSelfService(AppError):
    code = "consent_not_self_service"
    status_code = 409
    message = "Only a guardian can give or withdraw this consent, through the link we e-mailed them"


class ConsentPurposeUnknown(AppError):
    code = "consent_purpose_unknown"
    status_code = 404
    message = "No such consent purpose"


class NoticeOutdated(AppError):
    code = "notice_outdated"
    status_code = 409
    message = "The notice you saw has changed since; read the current one and decide again"


class GuardianConsentPending(AppError):
    code = "guardian_consent_pending"
    status_code = 403
    message = "A parent or guardian has to agree before this account can do that"


class GuardianLinkInvalid(AppError):
    code = "guardian_link_invalid"
    status_code = 404
    message = "This confirmation link is not valid or has expired"


class BirthYearInvalid(AppError):
    code = "birth_year_invalid"
    status_code = 422
    message = "The birth year is not plausible"


class GuardianEmailRequired(AppError):
    code = "guardian_email_required"
    status_code = 422
    message = "Members under 14 need a parent's or guardian's e-mail address"
