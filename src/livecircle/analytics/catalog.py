"""Every analytics event type, what records it and what ``amount`` means for it.

Ids are deterministic where the action has an identity of its own (``order_paid:42``),
so a retry or a second node stores the event once.
"""

from __future__ import annotations

# type: (recorded by, amount unit or None)
EVENT_TYPES: dict[str, tuple[str, str | None]] = {
    "view_start": ("a room socket joined by a viewer (signed in or anonymous)", None),
    "view_end": ("that socket closed; amount = seconds watched", "seconds"),
    "online_sample": ("live viewers of a show, sampled every 10 s; amount = online", "viewers"),
    "chat": ("a danmaku line stored (visible or held)", None),
    "like": ("a viewer's taps in one like tick; amount = taps", "taps"),
    "share": ("a share of a room, show or product", None),
    "gift": ("a gift sent; amount = coins; props.gift_id, props.count", "coins"),
    "follow": ("a viewer followed the host", None),
    "community_join": ("a viewer joined a community (props.source)", None),
    "signup": ("an account was registered", None),
    "signin": ("an account signed in", None),
    "product_impression": ("a pinned card was shown to a viewer (once per card)", None),
    "product_click": ("a viewer opened a card's checkout (once per card)", None),
    "cart_add": ("a viewer chose a SKU and quantity", None),
    "order_placed": ("an order was created; amount = total cents; props.product_id", "cents"),
    "order_paid": ("an order's payment succeeded; amount = total cents", "cents"),
    "order_released": ("an order was cancelled, timed out or refunded", "cents"),
    "topup": ("coins were bought; amount = cents paid", "cents"),
    "points_earned": ("points paid by an earning rule; amount = points", "points"),
    "membership": ("a paid membership was bought; amount = coins", "coins"),
    "show_started": ("a show went live", None),
    "show_ended": ("a show ended", None),
    "product_pinned": ("the host pinned a product card", None),
    "flash_sale": ("a flash sale was scheduled", None),
    "coupon_drop": ("the host dropped coupons into the room", None),
    "poll_started": ("the host launched a poll", None),
    "lottery_started": ("the host started a lottery", None),
    "alert_raised": ("an alert rule fired for a live show", None),
    "alert_acked": ("an alert was acknowledged; amount = seconds to acknowledge", "seconds"),
    "flash_sale_missed": (
        "a signed-in member's flash-sale order was refused sold out (once per sale and member); "
        "props.flash_sale_id, props.sku_id",
        None,
    ),
    "script_step": ("a run-of-show step settled (props.status: fired, failed, skipped, missed)", None),
}
