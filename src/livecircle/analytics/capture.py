"""How the domains' facts become analytics events.

- Domain events are translated into rows inside the transaction that emitted them
  (``kit.tracking.Tracker``): durable exactly when the action committed.
- Viewings: the gateway tells ``ViewTracker`` when a room socket opens and closes.
- Live viewers: ``OnlineSampler`` writes each live show's online count every few seconds,
  with an id per show and time slot, so several nodes store one sample.
- Identity merge: a sign-up or sign-in from a device links its anonymous id to the account
  (``analytics_identity``); every query reads events through that link.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.models import AnonIdentity
from livecircle.commerce import events as commerce_events
from livecircle.community import events as community_events
from livecircle.economy import events as economy_events
from livecircle.identity import events as identity_events
from livecircle.interaction.lotteries import events as lottery_events
from livecircle.interaction.polls import events as poll_events
from livecircle.kit.background import Periodic
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, dialect_insert
from livecircle.kit.tracking import Row, TrackBuffer, Tracker, event_row
from livecircle.live import events as live_events
from livecircle.live import service as live_service
from livecircle.live.schemas import RoomViewer
from livecircle.realtime.hub import Connection

STALE_ONLINE_SECONDS = 25.0  # the hub refreshes a served room's total every 10 s


def register(tracker: Tracker) -> None:
    """Subscribe the translators of every domain event analytics records."""
    for event_type, translate in TRANSLATORS.items():
        tracker.on(event_type, translate)


async def _signup(session: AsyncSession, e: identity_events.UserRegistered) -> list[Row]:
    await _merge(session, e.device, e.user_id)
    return [event_row("signup", event_id=f"signup:{e.user_id}", tenant_id=e.tenant_id, user_id=e.user_id)]


async def _signin(session: AsyncSession, e: identity_events.UserSignedIn) -> list[Row]:
    await _merge(session, e.device, e.user_id)
    return []  # the sign-in itself is no viewer action; the merge is what matters


async def _merge(session: AsyncSession, device: str | None, user_id: int) -> None:
    """The device's anonymous events become the account's (the first account keeps them)."""
    if device:
        await session.execute(
            dialect_insert(session, AnonIdentity)
            .values(anon_id=device, user_id=user_id, merged_at=utcnow())
            .on_conflict_do_nothing(index_elements=["anon_id"])
        )


async def _show_started(_: AsyncSession, e: live_events.ShowStarted) -> list[Row]:
    if e.resumed:
        return []
    ids: dict[str, Any] = {"tenant_id": e.tenant_id, "room_id": e.room_id, "show_id": e.show_id}
    return [event_row("show_started", event_id=f"show_started:{e.show_id}", **ids)]


async def _show_ended(_: AsyncSession, e: live_events.ShowEnded) -> list[Row]:
    ids: dict[str, Any] = {"tenant_id": e.tenant_id, "room_id": e.room_id, "show_id": e.show_id}
    return [event_row("show_ended", event_id=f"show_ended:{e.show_id}", **ids)]


async def _followed(session: AsyncSession, e: live_events.HostFollowed) -> list[Row]:
    show = await live_service.get_live_show(session, e.room_id)
    return [
        event_row(
            "follow",
            tenant_id=e.tenant_id,
            user_id=e.user_id,
            room_id=e.room_id,
            show_id=show.id if show else None,
            props={"host_id": e.host_id},
        )
    ]


async def _order_placed(_: AsyncSession, e: commerce_events.OrderPlaced) -> list[Row]:
    return [
        event_row(
            "order_placed",
            event_id=f"order_placed:{e.order_id}",
            tenant_id=e.tenant_id,
            user_id=e.user_id,
            room_id=e.room_id,
            show_id=e.show_id,
            amount=e.total_cents,
            props={"order_id": e.order_id, "product_id": e.product_id, "flash_sale_id": e.flash_sale_id},
        )
    ]


async def _order_paid(_: AsyncSession, e: commerce_events.OrderPaid) -> list[Row]:
    return [
        event_row(
            "order_paid",
            event_id=f"order_paid:{e.order_id}",
            tenant_id=e.tenant_id,
            user_id=e.user_id,
            show_id=e.show_id,
            amount=e.total_cents,
            props={"order_id": e.order_id},
        )
    ]


async def _order_released(_: AsyncSession, e: commerce_events.OrderReleased) -> list[Row]:
    return [
        event_row(
            "order_released",
            event_id=f"order_released:{e.order_id}",
            tenant_id=e.tenant_id,
            user_id=e.user_id,
            room_id=e.room_id,
            show_id=e.show_id,
            props={"order_id": e.order_id, "status": e.status, "reason": e.reason},
        )
    ]


def _in_show(type: str, e: Any, ref: str | None, props: dict[str, Any]) -> list[Row]:
    """A host's action in a show (pin, flash sale, drop, poll, lottery), once per ``ref``."""
    return [
        event_row(
            type,
            event_id=f"{type}:{ref}" if ref else None,
            tenant_id=e.tenant_id,
            room_id=e.room_id,
            show_id=e.show_id,
            props=props,
        )
    ]


async def _pinned(_: AsyncSession, e: commerce_events.ProductPinned) -> list[Row]:
    return _in_show("product_pinned", e, str(e.pin_id), {"pin_id": e.pin_id, "product_id": e.product_id})


async def _flash(_: AsyncSession, e: commerce_events.FlashSaleScheduled) -> list[Row]:
    return _in_show("flash_sale", e, str(e.sale_id), {"sale_id": e.sale_id})


async def _coupon_drop(_: AsyncSession, e: commerce_events.CouponDropped) -> list[Row]:
    return _in_show("coupon_drop", e, None, {"template_id": e.template_id})  # each drop counts


async def _poll(_: AsyncSession, e: poll_events.PollOpened) -> list[Row]:
    return _in_show("poll_started", e, str(e.poll_id), {"poll_id": e.poll_id})


async def _lottery(_: AsyncSession, e: lottery_events.LotteryOpened) -> list[Row]:
    return _in_show("lottery_started", e, str(e.lottery_id), {"lottery_id": e.lottery_id})


async def _joined(_: AsyncSession, e: community_events.CommunityJoined) -> list[Row]:
    return [
        event_row(
            "community_join",
            event_id=f"community_join:{e.community_id}:{e.user_id}:{uuid.uuid4().hex[:8]}",
            tenant_id=e.tenant_id,
            user_id=e.user_id,
            show_id=e.show_id,
            props={"community_id": e.community_id, "source": e.source, "inviter_id": e.inviter_id},
        )
    ]


async def _topup(_: AsyncSession, e: economy_events.CoinsToppedUp) -> list[Row]:
    ids: dict[str, Any] = {"tenant_id": e.tenant_id, "user_id": e.user_id}
    return [
        event_row(
            "topup", event_id=f"topup:{e.topup_id}", amount=e.amount_cents, props={"coins": e.coins}, **ids
        )
    ]


async def _points(_: AsyncSession, e: economy_events.PointsEarned) -> list[Row]:
    ids: dict[str, Any] = {"tenant_id": e.tenant_id, "user_id": e.user_id}
    return [event_row("points_earned", amount=e.points, props={"rule": e.rule}, **ids)]


async def _membership(_: AsyncSession, e: economy_events.MembershipBought) -> list[Row]:
    ids: dict[str, Any] = {"tenant_id": e.tenant_id, "user_id": e.user_id}
    return [event_row("membership", amount=e.coins, props={"days": e.days}, **ids)]


TRANSLATORS: dict[type[Any], Any] = {
    identity_events.UserRegistered: _signup,
    identity_events.UserSignedIn: _signin,
    live_events.ShowStarted: _show_started,
    live_events.ShowEnded: _show_ended,
    live_events.HostFollowed: _followed,
    commerce_events.OrderPlaced: _order_placed,
    commerce_events.OrderPaid: _order_paid,
    commerce_events.OrderReleased: _order_released,
    commerce_events.ProductPinned: _pinned,
    commerce_events.FlashSaleScheduled: _flash,
    commerce_events.CouponDropped: _coupon_drop,
    poll_events.PollOpened: _poll,
    lottery_events.LotteryOpened: _lottery,
    community_events.CommunityJoined: _joined,
    economy_events.CoinsToppedUp: _topup,
    economy_events.PointsEarned: _points,
    economy_events.MembershipBought: _membership,
}


class LiveShows:
    """Which show is live in which room, as this node last read it: room → (show, tenant)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.by_room: dict[int, tuple[int, int]] = {}

    async def refresh(self) -> None:
        async with self.db.sessionmaker() as session:
            self.by_room = await live_service.live_show_ids(session)


class ViewTracker:
    """A viewing is a room socket open while a show is live: ``view_start`` when it begins
    (the socket opens during the show, or the show starts while it is open), ``view_end``
    with the seconds watched when the socket closes or the show ends. Both share a session
    id. ``reconcile`` runs after every refresh of the live shows."""

    def __init__(self, buffer: TrackBuffer, shows: LiveShows) -> None:
        self.buffer = buffer
        self.shows = shows
        self._viewers: dict[int, RoomViewer] = {}
        self._viewing: dict[int, tuple[str, float, int]] = {}  # conn → (session, started, show)

    def opened(self, conn: Connection) -> None:
        if isinstance(conn.context, RoomViewer):
            self._viewers[id(conn)] = conn.context
            self._begin(id(conn), conn.context)

    def closed(self, conn: Connection) -> None:
        viewer = self._viewers.pop(id(conn), None)
        if viewer is not None:
            self._end(id(conn), viewer)

    def reconcile(self) -> None:
        for key, viewer in self._viewers.items():
            viewing = self._viewing.get(key)
            live = self.shows.by_room.get(viewer.room_id)
            if viewing is not None and (live is None or live[0] != viewing[2]):
                self._end(key, viewer)
            if key not in self._viewing:
                self._begin(key, viewer)

    def end_all(self) -> None:
        """The node is stopping: every viewing ends now."""
        for key, viewer in list(self._viewers.items()):
            self._end(key, viewer)

    def _begin(self, key: int, viewer: RoomViewer) -> None:
        live = self.shows.by_room.get(viewer.room_id)
        if live is None:
            return
        session = uuid.uuid4().hex
        self._viewing[key] = (session, time.monotonic(), live[0])
        self.buffer.add(_view_row("view_start", viewer, live[0], session, None))

    def _end(self, key: int, viewer: RoomViewer) -> None:
        viewing = self._viewing.pop(key, None)
        if viewing is not None:
            session, started, show_id = viewing
            seconds = max(0, round(time.monotonic() - started))
            self.buffer.add(_view_row("view_end", viewer, show_id, session, seconds))


def _view_row(type: str, viewer: RoomViewer, show_id: int, session: str, seconds: int | None) -> Row:
    user_id = viewer.principal.user_id
    return event_row(
        type,
        event_id=f"{type}:{session}",
        tenant_id=viewer.tenant_id,
        user_id=user_id,
        anon_id=None if user_id else viewer.anon_id,
        room_id=viewer.room_id,
        show_id=show_id,
        amount=seconds,
        props={"session": session},
    )


class OnlineSampler:
    """The online count of every live show, written every ``every`` seconds. The hub tells
    it the total over all nodes; every node writes, and the slot's event id keeps one."""

    def __init__(self, buffer: TrackBuffer, shows: LiveShows, *, every: int, sole_node: bool) -> None:
        self.buffer = buffer
        self.shows = shows
        self.every = every
        self.sole_node = sole_node  # no other node serves viewers: a room never seen has none
        self.online: dict[int, tuple[int, float]] = {}  # room → (total online, seen at)
        self._periodic = Periodic("analytics.online", every, self.sample)

    async def observe(self, channel: str, online: int) -> None:
        """The hub's total over all nodes, told on every change and refreshed every 10 s
        while this node serves the room."""
        if channel.startswith("room:"):
            self.online[int(channel[5:])] = (online, time.monotonic())

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sample(self) -> None:
        slot = int(time.time() // self.every)
        for room_id, (show_id, tenant_id) in self.shows.by_room.items():
            online, seen = self.online.get(room_id, (0, -1.0))
            if not self.sole_node and (seen < 0 or time.monotonic() - seen > STALE_ONLINE_SECONDS):
                continue  # this node does not serve the room: those that do write the sample
            self.buffer.add(
                event_row(
                    "online_sample",
                    event_id=f"online:{show_id}:{slot}",
                    tenant_id=tenant_id,
                    room_id=room_id,
                    show_id=show_id,
                    amount=online,
                )
            )
