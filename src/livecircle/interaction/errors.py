"""Interaction errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class ChatNeedsAccount(AppError):
    code = "chat_needs_account"
    status_code = 401
    message = "Sign in to chat"


class ChatTextInvalid(AppError):
    code = "chat_text_invalid"
    status_code = 422
    message = "The message is empty or too long"


class MessageNotFound(AppError):
    code = "message_not_found"
    status_code = 404
    message = "No such message in this room"


class AutoReplyNotFound(AppError):
    code = "auto_reply_not_found"
    status_code = 404
    message = "No such auto-reply rule in this room"


class StepNotFound(AppError):
    code = "step_not_found"
    status_code = 404
    message = "No such run-of-show step in this room"
