"""What can go wrong with money-like values; every case is a 4xx with a stable code."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class InsufficientBalance(AppError):
    code = "insufficient_balance"
    status_code = 409
    message = "Your balance is too low for this"


class IdempotencyKeyReused(AppError):
    code = "idempotency_key_reused"
    status_code = 422
    message = "This idempotency key was used for a different request"


class IdempotencyInFlight(AppError):
    code = "idempotency_in_progress"
    status_code = 409
    message = "A request with this idempotency key is still being processed; retry shortly"


class IdempotencyKeyInvalid(AppError):
    code = "idempotency_key_invalid"
    status_code = 400
    message = "Send an Idempotency-Key header of 1 to 255 printable characters"


class GiftNotFound(AppError):
    code = "gift_not_found"
    status_code = 404
    message = "No such gift"


class MinorsCannotPay(AppError):
    code = "minor_cannot_pay"
    status_code = 403
    message = "Accounts of minors cannot top up or send gifts"


class SpendCapReached(AppError):
    code = "spend_cap_reached"
    status_code = 409
    message = "This would pass your daily spending limit"


class GiftTooLarge(AppError):
    code = "gift_too_large"
    status_code = 422
    message = "One gift send is limited"


class TopUpNotFound(AppError):
    code = "topup_not_found"
    status_code = 404
    message = "No such top-up"


class BadSignature(AppError):
    code = "bad_signature"
    status_code = 401
    message = "The payment callback's signature does not verify"


class PointsCapReached(AppError):
    code = "points_cap_reached"
    status_code = 409
    message = "You have earned today's points from this activity"


class UnknownEarnRule(AppError):
    code = "unknown_earn_rule"
    status_code = 422
    message = "No such earning rule"


class StoreItemNotFound(AppError):
    code = "store_item_not_found"
    status_code = 404
    message = "No such item in the points store"


class OutOfStock(AppError):
    code = "out_of_stock"
    status_code = 409
    message = "This item is out of stock"


class RedeemLimitReached(AppError):
    code = "redeem_limit_reached"
    status_code = 409
    message = "You have redeemed this item as often as allowed"


class FreezeLimitReached(AppError):
    code = "freeze_limit_reached"
    status_code = 409
    message = "You hold as many streak freezes as allowed"


class ConcurrentChange(AppError):
    code = "concurrent_change"
    status_code = 409
    message = "Something changed while this was being done; retry"


class BadgeRuleNotFound(AppError):
    code = "badge_rule_not_found"
    status_code = 404
    message = "No such badge rule"
