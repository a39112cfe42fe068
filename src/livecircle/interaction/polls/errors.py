"""Poll errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class PollNotFound(AppError):
    code = "poll_not_found"
    status_code = 404
    message = "No such poll"


class PollNotOpen(AppError):
    code = "poll_not_open"
    status_code = 409
    message = "This poll is not open for votes"


class PollAlreadyOpened(AppError):
    code = "poll_already_opened"
    status_code = 409
    message = "This poll has been launched already"


class AlreadyVoted(AppError):
    code = "already_voted"
    status_code = 409
    message = "You have voted in this poll already: one ballot per account"


class BallotInvalid(AppError):
    code = "ballot_invalid"
    status_code = 422
    message = "The ballot does not fit the poll's questions"


class VoteNeedsAccount(AppError):
    code = "vote_needs_account"
    status_code = 401
    message = "Sign in to vote"
