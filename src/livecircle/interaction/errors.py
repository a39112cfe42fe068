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
