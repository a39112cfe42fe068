"""Live commerce: products, show items, pinned cards, flash sales, coupons, orders, payments."""
