"""Notification schemas: inbox entries, preferences, webhook endpoints, show reminders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from livecircle.kit.schemas import Schema


class Kind(StrEnum):
    SHOW_REMINDER = "show_reminder"
    EVENT_REMINDER = "event_reminder"
    LOTTERY_WON = "lottery_won"
    MENTION = "mention"
    SYSTEM = "system"
    PROMOTION = "promotion"  # offers, coupons, campaigns: only to members with marketing consent


# Kinds that are marketing (promotional content we push): ``do_notify`` sends them only to
# members whose ``marketing`` consent holds (privacy.consent), checked again at e-mail time.
# Reminders a member subscribed to themselves, mentions, wins and system notices are service.
PROMOTIONAL = frozenset({Kind.PROMOTION})


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"


# English source text; pages and e-mails translate it (messages.po).
KIND_LABELS = {
    Kind.SHOW_REMINDER: "Show reminders",
    Kind.EVENT_REMINDER: "Event reminders",
    Kind.LOTTERY_WON: "Lottery wins",
    Kind.MENTION: "Mentions",
    Kind.SYSTEM: "System messages",
    Kind.PROMOTION: "Offers and news",
}
CHANNEL_LABELS = {Channel.INBOX: "Inbox", Channel.EMAIL: "E-mail"}


Preferences = dict[Kind, dict[Channel, bool]]


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(Schema):
    items: list[NotificationOut]
    unread: int = Field(description="Unread entries in the whole inbox")
    next_before: int | None = Field(description="Pass as ``before`` for the next (older) page")


class ReadAllOut(Schema):
    marked: int
    unread: int


class PreferencesIn(Schema):
    """Only the (kind, channel) pairs given change; the others keep their value."""

    preferences: Preferences = Field(min_length=1)


class PreferencesOut(Schema):
    preferences: Preferences


class WebhookIn(Schema):
    url: str = Field(min_length=8, max_length=2000, description="https://, or http:// to localhost")
    kinds: list[Kind] = Field(default_factory=list, description="Empty: every kind")
    description: str = Field(default="", max_length=200)
    active: bool = True


class WebhookUpdate(Schema):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    kinds: list[Kind] | None = None
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    url: str
    kinds: list[Kind]
    description: str
    active: bool
    created_at: datetime
    secret_hint: str = Field(description="The secret's last characters, to tell secrets apart")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown only now: verify X-Livecircle-Signature with it")


class ReminderOut(Schema):
    show_id: int
    signed_up: bool
    starts_at: datetime | None
    signups: int


class UpcomingShowOut(Schema):
    id: int
    title: str
    starts_at: datetime


class RoomReminderOut(Schema):
    """The room's next scheduled show and whether the caller asked to be reminded of it."""

    show: UpcomingShowOut | None
    signed_up: bool
    signups: int
