"""The consent notices, per purpose, in Chinese and English: what a member reads before they
grant a purpose. A consent record keeps the hash of the text shown; when a text changes, its
hash changes, consents given on the old text count as not given and the member is asked
again. Change ``POLICY_VERSION`` with any text here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

POLICY_VERSION = "2026-11"
LOCALES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    text: str


NOTICES: dict[str, dict[str, Notice]] = {
    "terms": {
        "zh-CN": Notice(
            "服务条款与隐私政策",
            "为提供账号、直播互动、社群和购物服务，我们处理你的邮箱、昵称以及你在服务中的发言和操作记录。"
            "观看公开直播无需任何个人信息。你可以随时导出或删除你的数据。",
        ),
        "en": Notice(
            "Terms of service and privacy policy",
            "To run your account, live interaction, communities and shopping we process your e-mail, "
            "display name and what you write and do in the service. Watching a public live room needs "
            "no personal data. You can export or delete your data at any time.",
        ),
    },
    "marketing": {
        "zh-CN": Notice(
            "优惠与活动消息",
            "我们会通过站内信和邮件向你推送优惠券、促销和活动信息。不同意不影响使用任何功能，可随时撤回。",
        ),
        "en": Notice(
            "Offers and news",
            "We send you coupons, promotions and event news in your inbox and by e-mail. Saying no "
            "changes nothing else in the service; you can withdraw at any time.",
        ),
    },
    "profiling": {
        "zh-CN": Notice(
            "个性化推荐与用户画像",
            "我们根据你的观看和购买记录生成兴趣与消费标签，用于个性化推荐和营销名单。"
            "你可以随时关闭；关闭后你的标签立即删除，你看到的内容不再基于你的个人特征。",
        ),
        "en": Notice(
            "Personalisation and profiling",
            "We derive interest and spending tags from what you watch and buy, for personalised "
            "recommendations and marketing lists. You can switch this off at any time: your tags are "
            "deleted at once and what you see no longer depends on your personal characteristics.",
        ),
    },
    "payment": {
        "zh-CN": Notice(
            "支付信息（敏感个人信息，单独同意）",
            "充值和订单支付需要处理你的支付账户与交易信息，这属于敏感个人信息。"
            "我们仅为完成支付、对账和依法保存交易记录而处理；不同意则无法充值或在线支付，其他功能不受影响。",
        ),
        "en": Notice(
            "Payment details (sensitive personal data, separate consent)",
            "Top-ups and order payments need your payment account and transaction details, which are "
            "sensitive personal data. We process them only to complete, reconcile and keep payments "
            "as the law requires; without this consent you cannot pay online, and nothing else changes.",
        ),
    },
    "real_name": {
        "zh-CN": Notice(
            "实名信息（敏感个人信息，单独同意）",
            "实名认证需要处理你的姓名和身份证件信息，仅用于法律要求的实名核验。",
        ),
        "en": Notice(
            "Real-name details (sensitive personal data, separate consent)",
            "Real-name verification needs your name and identity document, used only for the "
            "verification the law requires.",
        ),
    },
    "location": {
        "zh-CN": Notice(
            "位置信息（敏感个人信息，单独同意）",
            "位置信息仅在你使用需要位置的功能时处理，不用于画像。",
        ),
        "en": Notice(
            "Location (sensitive personal data, separate consent)",
            "Your location is processed only while you use a feature that needs it, never for profiling.",
        ),
    },
    "guardian": {
        "zh-CN": Notice(
            "监护人同意",
            "未满十四周岁的用户需经父母或其他监护人同意后方可使用互动、支付等功能。"
            "我们仅处理提供服务所必需的信息，不对未成年人进行画像或营销。",
        ),
        "en": Notice(
            "Guardian's consent",
            "A member under 14 may chat, pay or be personalised only once a parent or guardian has "
            "agreed. We process only what the service needs, and never profile or market to minors.",
        ),
    },
}


def notice(purpose: str, locale: str) -> Notice:
    texts = NOTICES[purpose]
    return texts.get(locale) or texts["zh-CN"]


def text_hash(purpose: str, locale: str) -> str:
    """The hash of the notice shown for ``purpose`` in ``locale``."""
    shown = notice(purpose, locale)
    return hashlib.sha256(f"{purpose}\n{shown.title}\n{shown.text}".encode()).hexdigest()


def current_hashes(purpose: str) -> frozenset[str]:
    """The hashes of the current notice in every locale (a consent on any of them is current)."""
    return frozenset(text_hash(purpose, locale) for locale in LOCALES)
