"""The operator's coupon page: templates (every field of the API's CouponTemplateIn), putting
them on or off, and issuing one by hand. The rules are the API's: the form validates with its
schema and calls the same commerce functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog, coupons
from livecircle.commerce.schemas import CouponTemplateIn
from livecircle.economy.deps import operator_tenant
from livecircle.identity import service as identity_service
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.web.commerce_pages import SHOP, catalogue, cents, render, template_view, validate

router = APIRouter(include_in_schema=False)
CHANNELS = ("new_user", "follow", "drop", "member", "points", "manual")
Short = Annotated[str, Form(max_length=200)]

_COUPONS_PAGE: dict[str, Any] = {
    "form": {},
    "invalid": [],
    "added": None,
    "issued": None,
    "error": None,
    "error_template": None,
    "channels": CHANNELS,
}


# ---- operators: coupons ----


@router.get("/console/coupons")
async def console_coupons(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/coupons", status_code=303)
    query = request.query_params
    issued = {"template": query.get("issued"), "user": query.get("user")} if query.get("issued") else None
    return await _coupons_page(request, session, principal, added=query.get("added"), issued=issued)


@router.post("/console/coupons", dependencies=[CsrfChecked])
async def console_create_coupon(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    data, invalid = validate(CouponTemplateIn, _coupon_fields(form))
    if data is not None and not await _own_product(session, tenant_id, data.product_id):
        data, invalid = None, ["product_id"]
    if data is None:
        return await _coupons_page(request, session, principal, status_code=422, form=form, invalid=invalid)
    template = await coupons.do_create_template(session, tenant_id=tenant_id, **data.model_dump())
    return RedirectResponse(f"/console/coupons?added={template.id}", status_code=303)


@router.post("/console/coupons/{template_id}/enabled", dependencies=[CsrfChecked])
async def console_coupon_enabled(
    template_id: int, session: DbSession, principal: CurrentPrincipal, enabled: Annotated[bool, Form()]
) -> Response:
    """Stop handing a coupon out (or start again); coupons already issued stay valid."""
    tenant_id = operator_tenant(principal, SHOP)
    await coupons.do_update_template(session, tenant_id=tenant_id, template_id=template_id, enabled=enabled)
    return RedirectResponse("/console/coupons", status_code=303)


@router.post("/console/coupons/{template_id}/issue", dependencies=[CsrfChecked])
async def console_issue_coupon(
    request: Request,
    template_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    user_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
) -> Response:
    """Hand one coupon to a member of this tenant by their user id."""
    tenant_id = operator_tenant(principal, SHOP)
    template = await coupons.get_template(session, tenant_id, template_id)
    try:
        async with session.begin_nested():
            await identity_service.get_membership(session, user_id=user_id, tenant_id=tenant_id)
            await coupons.do_issue(session, template, user_id=user_id, source="manual")
    except AppError as exc:  # not a member, holds it already, none left, disabled
        context = {"error": exc.code, "error_template": template_id}
        return await _coupons_page(request, session, principal, status_code=exc.status_code, **context)
    return RedirectResponse(f"/console/coupons?issued={template_id}&user={user_id}", status_code=303)


async def _coupons_page(
    request: Request, session: AsyncSession, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    templates = [template_view(t) for t in await coupons.list_templates(session, tenant_id)]
    products = await catalogue(session, tenant_id, enabled_only=False)
    names = {p["id"]: p["name"] for p in products}
    context = _COUPONS_PAGE | context | {"templates": templates, "products": products, "product_names": names}
    return render(request, "console_coupons.html", principal, status_code, **context)


async def _own_product(session: AsyncSession, tenant_id: int, product_id: int | None) -> bool:
    """None (any product) or a product of this shop: the API does not check the tenant."""
    if product_id is None:
        return True
    try:
        await catalog.get_product(session, tenant_id, product_id)
    except AppError:
        return False
    return True


def _coupon_fields(form: dict[str, str]) -> dict[str, Any]:
    """The form in the API's terms: yuan become cents, blanks become "not set"."""
    kind = form.get("kind", "fixed")
    fields: dict[str, Any] = {
        "name": form.get("name", ""),
        "kind": kind,
        "min_spend_cents": cents(form.get("min_spend", "") or "0"),
        "channel": form.get("channel", ""),
        "per_user": form.get("per_user", "") or 1,
    }
    if kind == "percent":
        fields["percent_off"] = form.get("percent_off", "") or 0
    else:
        fields["amount_off_cents"] = cents(form.get("amount_off", "") or "0")
    for name in ("product_id", "total", "valid_days"):
        if form.get(name, "").strip():
            fields[name] = form[name]
    if form.get("valid_until", "").strip():
        fields["valid_until"] = _moment(form["valid_until"], form.get("tz_offset", ""))
    return fields


def _moment(local: str, tz_offset: str) -> datetime | str:
    """A ``datetime-local`` value ("2026-12-12T20:00") at the browser's offset (minutes west of
    UTC, as JavaScript's getTimezoneOffset gives it; none: UTC). Anything else is returned as it
    came, for the schema to refuse."""
    try:
        moment = datetime.fromisoformat(local.strip())
        minutes = int(tz_offset.strip() or 0)
    except ValueError:
        return local
    if moment.tzinfo is not None:
        return moment
    if not -18 * 60 <= minutes <= 18 * 60:
        return local
    return moment.replace(tzinfo=timezone(-timedelta(minutes=minutes)))
