"""Lottery errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class LotteryNotFound(AppError):
    code = "lottery_not_found"
    status_code = 404
    message = "No such lottery"


class LotteryNotOpen(AppError):
    code = "lottery_not_open"
    status_code = 409
    message = "This lottery is not open"


class LotteryAlreadyOpened(AppError):
    code = "lottery_already_opened"
    status_code = 409
    message = "This lottery has been launched already"


class LotteryNeedsAccount(AppError):
    code = "lottery_needs_account"
    status_code = 401
    message = "Sign in to join the lottery"


class NotAWinner(AppError):
    code = "not_a_winner"
    status_code = 404
    message = "You have no physical prize to send an address for in this lottery"


class WinnerNotFound(AppError):
    code = "winner_not_found"
    status_code = 404
    message = "No such winner in this lottery"


class PrizeStateConflict(AppError):
    code = "prize_state_conflict"
    status_code = 409
    message = "The prize is not in a state that allows this"
