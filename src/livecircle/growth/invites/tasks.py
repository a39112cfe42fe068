"""Invite subscribers: a sign-up with a code becomes an invite record; watch time and paid
orders vest rewards; sign-ins note where the user comes from. Each runs in a unit of work of
its own after the fact has committed."""

from __future__ import annotations

import logging

from livecircle.commerce.events import OrderPaid
from livecircle.config import Settings
from livecircle.growth.invites import service
from livecircle.identity.events import UserRegistered, UserSignedIn
from livecircle.kit.db import Database
from livecircle.live.events import WatchCredited

log = logging.getLogger(__name__)


def subscribe(db: Database, settings: Settings) -> None:
    """``settings`` is read at each event (tests and operators may change the rules live)."""

    async def registered(event: UserRegistered) -> None:
        async with db.unit_of_work() as session:
            await service.do_note_marks(session, user_id=event.user_id, ip=event.ip, device=event.device)
            if event.invited_by_id is not None:
                await service.do_record_invite(
                    session,
                    settings.growth,
                    tenant_id=event.tenant_id,
                    inviter_id=event.invited_by_id,
                    invitee_id=event.user_id,
                    ip=event.ip,
                    device=event.device,
                )

    async def signed_in(event: UserSignedIn) -> None:
        async with db.unit_of_work() as session:
            await service.do_note_marks(session, user_id=event.user_id, ip=event.ip, device=event.device)

    async def watched(event: WatchCredited) -> None:
        async with db.unit_of_work() as session:
            due = await service.invites_due_by_watch(session, settings.growth, user_ids=list(event.user_ids))
        for invite_id in due:
            try:
                async with db.unit_of_work() as session:
                    await service.check_vest(session, settings, invite_id=invite_id, trigger="watch")
            except Exception:  # one invite's failure must not keep the others from vesting
                log.exception("vesting invite %s failed", invite_id)

    async def paid(event: OrderPaid) -> None:
        async with db.unit_of_work() as session:
            invite = await service.do_attribute_order(
                session, settings.growth, user_id=event.user_id, order_id=event.order_id
            )
            if invite is not None:
                await service.do_vest(session, settings, invite, trigger="order")

    db.bus.subscribe(UserRegistered, registered)
    db.bus.subscribe(UserSignedIn, signed_in)
    db.bus.subscribe(WatchCredited, watched)
    db.bus.subscribe(OrderPaid, paid)
