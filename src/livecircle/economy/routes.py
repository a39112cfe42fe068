"""Economy JSON API: wallet, history, top-ups (sandbox payments), the gift catalogue."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from livecircle.economy import service
from livecircle.economy.deps import IdempotencyKey, Sandbox, operator_tenant
from livecircle.economy.errors import BadSignature
from livecircle.economy.schemas import (
    GiftIn,
    GiftOut,
    GiftPatch,
    HistoryItem,
    SandboxPayIn,
    TopUpIn,
    TopUpOut,
    WalletOut,
)
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import NotFound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["economy"])
CALLBACK_PATH = "/api/v1/payments/sandbox/callback"
TopUpId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GiftId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _tenant(principal: CurrentUser) -> int:
    assert principal.tenant_id is not None
    return principal.tenant_id


@router.get("/wallet")
async def wallet(session: DbSession, principal: CurrentUser, settings: AppSettings) -> WalletOut:
    assert principal.user_id is not None
    figures = await service.get_wallet(session, tenant_id=_tenant(principal), user_id=principal.user_id)
    rules = settings.economy
    return WalletOut(**figures, daily_cap=rules.daily_cap, daily_reminder=rules.daily_reminder)


@router.get("/wallet/history")
async def wallet_history(
    session: DbSession, principal: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[HistoryItem]:
    assert principal.user_id is not None
    rows = await service.list_history(
        session, tenant_id=_tenant(principal), user_id=principal.user_id, limit=limit
    )
    return [HistoryItem.model_validate(row) for row in rows]


@router.post("/wallet/topups", status_code=status.HTTP_201_CREATED)
async def start_topup(
    data: TopUpIn,
    key: IdempotencyKey,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    provider: Sandbox,
) -> TopUpOut:
    """Buy coins: a pending top-up and the provider's ``pay_url``; the coins arrive with the
    provider's signed callback. The same Idempotency-Key returns the same top-up."""
    assert principal.user_id is not None
    topup, pay_url = await service.do_start_topup(
        session,
        settings.economy,
        provider,
        tenant_id=_tenant(principal),
        user_id=principal.user_id,
        coins=data.coins,
        client_key=key,
    )
    return TopUpOut.model_validate(topup).model_copy(update={"pay_url": pay_url})


@router.get("/wallet/topups/{topup_id}")
async def get_topup(topup_id: TopUpId, session: DbSession, principal: CurrentUser) -> TopUpOut:
    assert principal.user_id is not None
    return TopUpOut.model_validate(
        await service.get_topup(session, user_id=principal.user_id, topup_id=topup_id)
    )


@router.post("/payments/sandbox/callback")
async def sandbox_callback(request: Request, session: DbSession, provider: Sandbox) -> dict[str, str]:
    """The provider's signed notice (HMAC-SHA256). Repeats are harmless; a bad signature is 401."""
    body = await request.body()
    notice = provider.verify({k.lower(): v for k, v in request.headers.items()}, body)
    topup = await service.do_settle_topup(session, notice)
    return {"status": topup.status}


@router.post("/payments/sandbox/{ref}/complete", status_code=status.HTTP_202_ACCEPTED)
async def sandbox_complete(
    ref: Annotated[str, Path(min_length=1, max_length=128)],
    data: SandboxPayIn,
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    provider: Sandbox,
) -> dict[str, str]:
    """The sandbox's checkout page in one call: it answers like a provider would, by sending a
    signed callback to ``/api/v1/payments/sandbox/callback`` (after ``delay_ms``)."""
    if not settings.economy.sandbox_payments:
        raise NotFound()
    topup = await service.get_topup_by_ref(session, ref)
    if topup.user_id != principal.user_id:
        raise NotFound("No such top-up")
    provider.answer(
        request.app.state.background,
        ref=ref,
        paid=data.outcome == "success",
        amount_cents=topup.amount_cents,
        path=CALLBACK_PATH,
        delay=data.delay_ms / 1000,
    )
    return {"status": "sent"}


@router.get("/gifts")
async def gifts(
    session: DbSession, principal: CurrentUser, include_disabled: Annotated[bool, Query(alias="all")] = False
) -> list[GiftOut]:
    """The catalogue; ``?all=true`` (operators) includes disabled gifts."""
    tenant_id = operator_tenant(principal, "the gift catalogue") if include_disabled else _tenant(principal)
    await service.ensure_gift_catalogue(session, tenant_id)
    rows = await service.list_gifts(session, tenant_id, enabled_only=not include_disabled)
    return [GiftOut.model_validate(g) for g in rows]


@router.patch("/gifts/{gift_id}")
async def update_gift(
    gift_id: GiftId, data: GiftPatch, session: DbSession, principal: CurrentUser
) -> GiftOut:
    tenant_id = operator_tenant(principal, "the gift catalogue")
    gift = await service.do_update_gift(session, tenant_id=tenant_id, gift_id=gift_id, **data.model_dump())
    return GiftOut.model_validate(gift)


@router.post("/gifts", status_code=status.HTTP_201_CREATED)
async def create_gift(data: GiftIn, session: DbSession, principal: CurrentUser) -> GiftOut:
    tenant_id = operator_tenant(principal, "the gift catalogue")
    gift = await service.do_create_gift(session, tenant_id=tenant_id, **data.model_dump())
    return GiftOut.model_validate(gift)


__all__ = ["BadSignature", "router"]
