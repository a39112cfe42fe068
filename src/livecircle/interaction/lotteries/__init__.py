"""Lotteries (抽奖) with eligibility rules and a verifiable draw: the seed's hash is shown when
the lottery opens, the eligible list is frozen and hashed at the draw, winners come from
seed + list hash by rejection sampling, and the audit page lets anyone re-derive them."""
