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
app.add_typer(user_app, name="user")
app.add_typer(media_app, name="media")

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
                    role=Role(role),
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
    scenario: Annotated[str, typer.Option(help="steady | dip | churn, or a JSON file")] = "steady",
    base_url: Annotated[str | None, typer.Option(help="The running server (default: this config's)")] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same accounts and plan")] = 1,
    operator_token: Annotated[str | None, typer.Option(help="Bearer token for history upload")] = None,
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
        )
        report = asyncio.run(run_simulation(options))
    except (scenarios.ScenarioError, SimulationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else render(report))


def main() -> None:  # pragma: no cover - console entry point alias
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
