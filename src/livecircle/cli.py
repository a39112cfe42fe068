"""The ``livecircle`` command: serve | migrate | demo | user | media."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from livecircle.config import get_settings

app = typer.Typer(help="livecircle: live streaming with a community around it.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
media_app = typer.Typer(help="Media server integration.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: verify the hash chain, prune.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(media_app, name="media")
app.add_typer(audit_app, name="audit")
privacy_app = typer.Typer(help="Personal data: the data map.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None
) -> None:
    """Serve the web app, API, WebSocket gateway and (embedded adapter) RTMP ingest."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "livecircle.main:create_app",
        factory=True,
        host=host or settings.http.host,
        port=port or settings.http.port,
        log_config=None,
        ws_per_message_deflate=False,
        proxy_headers=True,
    )


def _alembic_config() -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", get_settings().db_url)
    return config


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "heads") -> None:
    """Bring the database schema up to date (Alembic)."""
    from alembic import command

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(), revision)  # type: ignore[arg-type]
    typer.echo(f"database at {revision}: {settings.db_url.split('@')[-1]}")


@app.command()
def demo(as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON object")] = False) -> None:
    """Seed the demo tenant, accounts and room (idempotent) and print how to use them."""
    from livecircle.demo import seed_demo
    from livecircle.kit.db import Database

    settings = get_settings()

    async def run() -> dict[str, object]:
        db = Database(settings.db_url)
        try:
            return await seed_demo(db, settings)
        finally:
            await db.dispose()

    info = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
    typer.echo(
        f"\nWatch: {info['viewer_url']}\nHost console: {info['host_url']}\n"
        f"Push:  ffmpeg ... -f flv {info['rtmp_url']}"
    )


@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    display_name: Annotated[str, typer.Option("--name")] = "",
    role: Annotated[str, typer.Option(help="member|moderator|host|operator|admin")] = "member",
    tenant: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account with a role in a tenant (the tenant is created if missing)."""
    from livecircle.identity import service
    from livecircle.identity.errors import EmailTaken
    from livecircle.identity.schemas import Role
    from livecircle.kit.db import Database

    settings = get_settings()
    if role not in {r.value for r in Role}:
        raise typer.BadParameter(
            f"role must be one of {', '.join(r.value for r in Role)}", param_hint="--role"
        )
    if len(password) < 8:
        raise typer.BadParameter("at least 8 characters", param_hint="--password")

    async def run() -> int:
        db = Database(settings.db_url)
        try:
            async with db.unit_of_work() as session:
                slug = tenant or settings.default_tenant
                the_tenant = await service.ensure_tenant(session, slug=slug, name=slug)
                user = await service.do_register(
                    session,
                    email=email,
                    password=password,
                    display_name=display_name or email.split("@")[0],
                    tenant=the_tenant,
                )
                if role != Role.MEMBER:  # a staff role is granted, and audited, as a role change
                    purpose = "account created with a staff role from the command line"
                    await service.do_set_role(
                        session, user=user, tenant=the_tenant, role=Role(role), purpose=purpose
                    )
                return user.id
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(run())
    except EmailTaken:
        typer.echo(f"error: an account with e-mail {email} already exists", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created user {user_id} <{email}> as {role}")


@user_app.command("role")
def user_role(
    email: str,
    role: Annotated[str, typer.Option(help="member|moderator|host|operator|admin")],
    tenant: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str, typer.Option(help="Why, for the audit log")] = "role changed by an operator",
) -> None:
    """Give an existing account a role in a tenant (audited as role.change)."""
    from livecircle.identity import service
    from livecircle.identity.errors import TenantNotFound
    from livecircle.identity.schemas import Role
    from livecircle.kit.db import Database

    settings = get_settings()
    if role not in {r.value for r in Role}:
        raise typer.BadParameter(
            f"role must be one of {', '.join(r.value for r in Role)}", param_hint="--role"
        )

    async def run() -> int | None:
        db = Database(settings.db_url)
        try:
            async with db.unit_of_work() as session:
                the_tenant = await service.get_tenant_by_slug(session, tenant or settings.default_tenant)
                user = await service.get_user_by_email(session, email)
                if user is not None:
                    await service.do_set_role(
                        session, user=user, tenant=the_tenant, role=Role(role), purpose=reason
                    )
                return user.id if user is not None else None
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(run())
    except TenantNotFound:
        typer.echo(f"error: no tenant {tenant or settings.default_tenant}", err=True)
        raise typer.Exit(2) from None
    if user_id is None:
        typer.echo(f"error: no account with e-mail {email}", err=True)
        raise typer.Exit(2)
    typer.echo(f"user {user_id} <{email}> is now {role}")


@media_app.command("nginx-conf")
def nginx_conf(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")
    ] = None,
    api_url: Annotated[str | None, typer.Option(help="Where nginx reaches our hooks")] = None,
    rtmp_port: Annotated[int | None, typer.Option()] = None,
    work_dir: Annotated[Path | None, typer.Option(help="pid, logs and recordings of nginx")] = None,
    user: Annotated[str | None, typer.Option(help="'user' directive for the workers")] = None,
) -> None:
    """Write an nginx + libnginx-mod-rtmp configuration that calls our publish hooks."""
    from livecircle.live.media.nginx import NginxLayout, render_conf

    settings = get_settings()
    work = (work_dir or settings.var_dir / "nginx").resolve()
    layout = NginxLayout(
        api_url=api_url or settings.http.base_url,
        rtmp_port=rtmp_port or settings.media.rtmp_port,
        hls_dir=settings.hls_dir,
        record_dir=work / "rec",
        work_dir=work,
        segment_seconds=settings.media.hls_segment_seconds,
        user=user,
    )
    conf = render_conf(layout)
    if output is None:
        sys.stdout.write(conf)
        return
    for directory in (work, layout.record_dir, layout.hls_dir):
        directory.mkdir(parents=True, exist_ok=True)
    output.write_text(conf)
    typer.echo(f"wrote {output}; run: nginx -c {output.resolve()} -p {work}", err=True)


@app.command()
def simulate(
    show: Annotated[int, typer.Option("--show", help="The show (场次) to watch")],
    viewers: Annotated[int, typer.Option(help="Synthetic viewers")] = 50,
    minutes: Annotated[float, typer.Option(help="Simulated minutes (0: the churn history only)")] = 5.0,
    speed: Annotated[float, typer.Option(help="Simulated minutes per real minute")] = 1.0,
    scenario: Annotated[str, typer.Option(help="steady | dip | churn | recall, or a JSON file")] = "steady",
    base_url: Annotated[str | None, typer.Option(help="The running server (default: this config's)")] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same accounts and plan")] = 1,
    operator_token: Annotated[
        str | None, typer.Option(help="Operator's bearer token (churn: history upload; recall: the campaign)")
    ] = None,
    campaign: Annotated[int | None, typer.Option(help="recall: the campaign the viewers answer")] = None,
    room: Annotated[int | None, typer.Option(help="The show's room (found by the show if left out)")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug the viewers register in")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON report")] = False,
) -> None:
    """Drive a running server with synthetic viewers over its public API and room WebSocket."""
    from livecircle.simulator import scenario as scenarios
    from livecircle.simulator.run import Options, SimulationError
    from livecircle.simulator.run import simulate as run_simulation
    from livecircle.simulator.summary import render

    try:
        options = Options(
            base_url=base_url or get_settings().http.base_url,
            show_id=show,
            viewers=viewers,
            minutes=minutes,
            scenario=scenarios.load(scenario),
            speed=speed,
            seed=seed,
            operator_token=operator_token,
            room_id=room,
            tenant=tenant,
            campaign_id=campaign,
        )
        report = asyncio.run(run_simulation(options))
    except (scenarios.ScenarioError, SimulationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else render(report))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain: exit 0 with "ok: N entries, head <hash>", exit 1 at the first break."""
    from livecircle.kit.db import Database
    from livecircle.privacy.audit_chain import Verdict, verify

    async def run() -> Verdict:
        db = Database(get_settings().db_url)
        try:
            async with db.unit_of_work() as session:
                return await verify(session)
        finally:
            await db.dispose()

    verdict = asyncio.run(run())
    typer.echo(verdict.line(), err=not verdict.ok)
    if not verdict.ok:
        raise typer.Exit(1)


@audit_app.command("prune")
def audit_prune(
    days: Annotated[int | None, typer.Option(help="Keep this many days (default: the retention)")] = None,
) -> None:
    """Remove entries past retention from the start of the chain (audited; verify stays ok)."""
    from livecircle.kit.db import Database
    from livecircle.privacy.audit_chain import prune
    from livecircle.privacy.retention import Retention, windows

    settings = get_settings()
    keep = days or windows(settings)[Retention.AUDIT] or 0

    async def run() -> tuple[int, int]:
        db = Database(settings.db_url)
        try:
            async with db.unit_of_work() as session:
                pruned = await prune(session, older_than_days=keep, actor_role="cli")
                return pruned.count, pruned.through_seq
        finally:
            await db.dispose()

    try:
        count, through = asyncio.run(run())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--days") from None
    typer.echo(f"pruned {count} entries older than {keep} days; the chain is anchored at seq {through}")


@privacy_app.command("datamap")
def privacy_datamap(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the block of docs/privacy.md")] = False,
    write: Annotated[Path | None, typer.Option(help="Refresh the data-map block of this file")] = None,
) -> None:
    """Every personal column: table, column, category, purpose, retention, what erasure does."""
    from livecircle.kit.db import Base
    from livecircle.models_registry import load_all
    from livecircle.privacy import datamap_doc

    load_all()
    if write is not None:
        old = write.read_text(encoding="utf-8") if write.exists() else ""
        write.write_text(datamap_doc.refresh(old, Base.metadata), encoding="utf-8")
        typer.echo(f"data map written to {write}")
        return
    render = datamap_doc.markdown if markdown else datamap_doc.text
    typer.echo(render(Base.metadata))


@privacy_app.command("export")
def privacy_export(
    user_id: Annotated[int, typer.Argument(help="The member's account id")],
    out: Annotated[Path, typer.Argument(help="Where to write the zip")],
    purpose: Annotated[str, typer.Option(help="Why, for the audit log")] = "a request for a subject's data",
) -> None:
    """Write the archive a member would download (for a regulator's or a court's request); audited."""
    from livecircle.kit.db import Base, Database
    from livecircle.models_registry import load_all
    from livecircle.privacy import audit
    from livecircle.privacy.export_build import collect, write_archive

    load_all()

    async def run() -> int:
        db = Database(get_settings().db_url)
        try:
            async with db.unit_of_work() as session:
                document = await collect(session, Base.metadata, user_id)
                size = write_archive(out, document)
                await audit.record(
                    session,
                    action="privacy.export.regulator",
                    target=f"user:{user_id}",
                    purpose=purpose,
                    actor_role="cli",
                    detail={"tables": len(document["tables"]), "bytes": size},
                )
                return size
        finally:
            await db.dispose()

    typer.echo(f"{asyncio.run(run())} bytes written to {out}")


def main() -> None:  # pragma: no cover - console entry point alias
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
