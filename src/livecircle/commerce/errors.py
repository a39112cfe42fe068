"""What can go wrong when selling; every case is a 4xx with a stable code."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class ProductNotFound(AppError):
    code = "product_not_found"
    status_code = 404
    message = "No such product"


class SkuNotFound(AppError):
    code = "sku_not_found"
    status_code = 404
    message = "No such SKU"


class NotOnSale(AppError):
    code = "not_on_sale"
    status_code = 409
    message = "This item is not on sale here"


class SoldOut(AppError):
    code = "sold_out"
    status_code = 409
    message = "Sold out"


class PurchaseLimitReached(AppError):
    code = "purchase_limit_reached"
    status_code = 409
    message = "You have bought as many of these as one person may"


class SaleNotOpen(AppError):
    code = "sale_not_open"
    status_code = 409
    message = "The flash sale is not open"


class FlashSaleNotFound(AppError):
    code = "flash_sale_not_found"
    status_code = 404
    message = "No such flash sale"


class TooManyPins(AppError):
    code = "too_many_pins"
    status_code = 409
    message = "At most 3 products are highlighted at once; unpin one first"


class PinNotFound(AppError):
    code = "pin_not_found"
    status_code = 404
    message = "No such pinned card"


class CardNotOpen(AppError):
    code = "card_not_open"
    status_code = 409
    message = "Buying opens when the card's countdown ends"


class OrderNotFound(AppError):
    code = "order_not_found"
    status_code = 404
    message = "No such order"


class OrderStateConflict(AppError):
    code = "order_state_conflict"
    status_code = 409
    message = "The order cannot do that in its current state"


class CouponNotFound(AppError):
    code = "coupon_not_found"
    status_code = 404
    message = "No such coupon"


class CouponNotApplicable(AppError):
    code = "coupon_not_applicable"
    status_code = 409
    message = "This coupon cannot be used for this order"


class CouponsGone(AppError):
    code = "coupons_gone"
    status_code = 409
    message = "All of these coupons have been claimed"


class CouponLimitReached(AppError):
    code = "coupon_limit_reached"
    status_code = 409
    message = "You already hold as many of these coupons as one person may"


class CouponNotClaimable(AppError):
    code = "coupon_not_claimable"
    status_code = 403
    message = "This coupon cannot be claimed this way"


class PaymentNotFound(AppError):
    code = "payment_not_found"
    status_code = 404
    message = "No such payment"


class MemberNotFound(AppError):
    code = "member_not_found"
    status_code = 404
    message = "No such member of this shop"
