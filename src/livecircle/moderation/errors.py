"""Moderation errors: why a message or an action was refused."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class NotModerator(AppError):
    code = "not_moderator"
    status_code = 403
    message = "Only the host and moderators of this room may do this"


class Muted(AppError):
    code = "muted"
    status_code = 403
    message = "You are muted in this room"


class Banned(AppError):
    code = "banned"
    status_code = 403
    message = "You are banned from chatting in this room"


class RateLimited(AppError):
    code = "rate_limited"
    status_code = 429
    message = "Too many messages; wait before sending again"


class SlowMode(AppError):
    code = "slow_mode"
    status_code = 429
    message = "Slow mode is on; wait before sending again"


class ChatRestricted(AppError):
    code = "chat_restricted"
    status_code = 403
    message = "Chat in this room is limited"


class MessageBlocked(AppError):
    code = "blocked"
    status_code = 422
    message = "The message breaks the room rules"


class WordListInvalid(AppError):
    code = "word_list_invalid"
    status_code = 422
    message = "The word list entry is not valid"


class ReportNotFound(AppError):
    code = "report_not_found"
    status_code = 404
    message = "No such report"


class WordNotFound(AppError):
    code = "word_not_found"
    status_code = 404
    message = "No such word in this tenant's list"
