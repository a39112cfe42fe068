"""The operator's points page (积分与等级): the points store and the badge rules as
server-rendered forms (like the gift catalogue), and, read-only, the earning rules and member
tiers, which are server settings. The rules are the JSON API's: the forms validate with its
schemas (``StoreItemIn``, ``BadgeRuleIn``, ...) and call the same economy functions."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.config import EconomySettings
from livecircle.economy import store, tiers
from livecircle.economy.deps import operator_tenant
from livecircle.economy.schemas import BadgeRuleIn, BadgeRuleUpdate, StoreItemIn, StoreItemUpdate
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession, get_app_settings
from livecircle.kit.errors import AppError, Conflict
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
POINTS = "the points store, badges, earning rules and tiers"
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Short = Annotated[str, Form(max_length=200)]
ITEM_FIELDS = ("name", "description", "kind", "cost", "stock", "per_user_limit", "template_id")
BADGE_FIELDS = ("code", "name", "icon", "stat", "threshold")
M = TypeVar("M", bound=BaseModel)
# What the page shows when a handler says nothing else; ``failed`` names the form that was refused.
_PAGE: dict[str, Any] = {"form": {}, "invalid": [], "failed": None, "error": None, "saved": None}


@router.get("/console/points")
async def console_points(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/points", status_code=303)
    return await _points_page(request, session, principal, saved=request.query_params.get("saved"))


# ---- the points store ----


@router.post("/console/points/items", dependencies=[CsrfChecked])
async def console_add_item(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """A new store item; a coupon item names the points-store coupon it hands out."""
    tenant_id = operator_tenant(principal, POINTS)
    form = await _form(request, ITEM_FIELDS)
    data, invalid = _validate(StoreItemIn, _item_fields(form))
    if (
        data is not None
        and data.kind == "coupon"
        and not await _store_coupon(session, tenant_id, data.payload)
    ):
        data, invalid = None, ["template_id"]
    if data is None:
        context = {"form": form, "invalid": invalid, "failed": "item"}
        return await _points_page(request, session, principal, status_code=422, **context)
    item = await store.do_create_store_item(session, tenant_id=tenant_id, **data.model_dump())
    return _saved(f"item-{item.id}")


@router.post("/console/points/items/{item_id}/stock", dependencies=[CsrfChecked])
async def console_item_stock(
    request: Request, item_id: ItemId, session: DbSession, principal: CurrentPrincipal, add_stock: Short = ""
) -> Response:
    """A restock (+) or a removal (−) of units not yet redeemed."""
    tenant_id = operator_tenant(principal, POINTS)
    data, _ = _validate(StoreItemUpdate, {"add_stock": add_stock.strip() or 0})
    failed = f"item-{item_id}"
    if data is None:
        context = {"invalid": ["add_stock"], "failed": failed, "form": {"add_stock": add_stock}}
        return await _points_page(request, session, principal, status_code=422, **context)
    try:
        async with session.begin_nested():
            await store.do_update_store_item(
                session, tenant_id=tenant_id, item_id=item_id, add_stock=data.add_stock
            )
    except AppError as exc:  # removing more units than are left
        context = {"error": exc.code, "failed": failed, "form": {"add_stock": add_stock}}
        return await _points_page(request, session, principal, status_code=exc.status_code, **context)
    return _saved(failed)


@router.post("/console/points/items/{item_id}/enabled", dependencies=[CsrfChecked])
async def console_item_enabled(
    item_id: ItemId, session: DbSession, principal: CurrentPrincipal, enabled: Annotated[bool, Form()]
) -> Response:
    """Offer an item in the store, or withdraw it (redemptions already made stay)."""
    tenant_id = operator_tenant(principal, POINTS)
    await store.do_update_store_item(session, tenant_id=tenant_id, item_id=item_id, enabled=enabled)
    return _saved(f"item-{item_id}")


def _item_fields(form: dict[str, str]) -> dict[str, Any]:
    """The form in the API's terms: an empty limit is "no limit"; a coupon's template goes in
    the payload, where redeeming finds it (commerce hands out that points-store coupon)."""
    fields: dict[str, Any] = {name: form[name] for name in ("name", "description", "kind", "cost", "stock")}
    fields["per_user_limit"] = form["per_user_limit"].strip() or None
    template = form["template_id"].strip()
    if fields["kind"] == "coupon" and template:
        fields["payload"] = {
            "template_id": int(template) if template.isascii() and template.isdigit() else template
        }
    return fields


async def _store_coupon(session: AsyncSession, tenant_id: int, payload: dict[str, Any]) -> bool:
    """The payload names an enabled coupon of this shop's points-store channel."""
    offered = await coupons.list_templates(session, tenant_id, channel="points", enabled_only=True)
    return payload.get("template_id") in {t.id for t in offered}


# ---- badge rules ----


@router.post("/console/points/badges", dependencies=[CsrfChecked])
async def console_add_badge(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = operator_tenant(principal, POINTS)
    form = await _form(request, BADGE_FIELDS)
    data, invalid = _validate(BadgeRuleIn, dict(form))
    if data is None:
        context = {"form": form, "invalid": invalid, "failed": "badge"}
        return await _points_page(request, session, principal, status_code=422, **context)
    try:
        async with session.begin_nested():
            await tiers.ensure_badge_rules(session, tenant_id)
            rule = await tiers.do_create_badge_rule(session, tenant_id=tenant_id, **data.model_dump())
    except Conflict as exc:  # another rule has this code
        context = {"form": form, "invalid": ["code"], "failed": "badge", "error": "code_taken"}
        return await _points_page(request, session, principal, status_code=exc.status_code, **context)
    return _saved(f"badge-{rule.id}")


@router.post("/console/points/badges/{rule_id}", dependencies=[CsrfChecked])
async def console_edit_badge(
    request: Request,
    rule_id: ItemId,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Short = "",
    icon: Short = "",
    threshold: Short = "",
) -> Response:
    """A new name, icon or threshold; badges already awarded stay."""
    tenant_id = operator_tenant(principal, POINTS)
    form = {"name": name, "icon": icon, "threshold": threshold}
    data, invalid = _validate(BadgeRuleUpdate, form)
    if data is None:
        context = {"form": form, "invalid": invalid, "failed": f"badge-{rule_id}"}
        return await _points_page(request, session, principal, status_code=422, **context)
    await tiers.do_update_badge_rule(session, tenant_id=tenant_id, rule_id=rule_id, **data.model_dump())
    return _saved(f"badge-{rule_id}")


@router.post("/console/points/badges/{rule_id}/enabled", dependencies=[CsrfChecked])
async def console_badge_enabled(
    rule_id: ItemId, session: DbSession, principal: CurrentPrincipal, enabled: Annotated[bool, Form()]
) -> Response:
    """Stop awarding a badge (or start again); badges already awarded stay."""
    tenant_id = operator_tenant(principal, POINTS)
    await tiers.do_update_badge_rule(session, tenant_id=tenant_id, rule_id=rule_id, enabled=enabled)
    return _saved(f"badge-{rule_id}")


# ---- the page ----


async def _points_page(
    request: Request, session: AsyncSession, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = operator_tenant(principal, POINTS)
    await tiers.ensure_badge_rules(session, tenant_id)
    templates = await coupons.list_templates(session, tenant_id, channel="points")
    page = {
        "items": await store.list_store_items(session, tenant_id, enabled_only=False),
        "badges": await tiers.list_badge_rules(session, tenant_id, enabled_only=False),
        "coupon_templates": templates,
        "template_names": {t.id: t.name for t in templates},
        "stats": tiers.STATS,
        "economy": _settings_view(get_app_settings(request).economy),
    }
    context = {"principal": principal} | _PAGE | context | page
    return get_pages(request).render(request, "console_points.html", context, status_code)


def _settings_view(rules: EconomySettings) -> dict[str, Any]:
    """The earning rules and tiers as the page shows them (they change only in the settings)."""
    thresholds = rules.tiers.level_thresholds
    return {
        "points": rules.points,
        "earn": sorted(rules.points.earn.items()),
        "tiers": rules.tiers,
        "levels": list(enumerate(thresholds, start=1)),
        "tier_names": tiers.TIERS,
        "privileges": {tier: rules.tiers.privileges.get(tier, []) for tier in tiers.TIERS},
    }


async def _form(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, "")) for name in names}


def _saved(anchor: str) -> Response:
    return RedirectResponse(f"/console/points?saved={anchor}#{anchor}", status_code=303)


def _validate(model: type[M], payload: dict[str, Any]) -> tuple[M | None, list[str]]:
    """The schema's answer: the data, or the names of the fields it refused ("value": the whole)."""
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, sorted({str(e["loc"][0]) if e["loc"] else "value" for e in exc.errors()})
