"""``python -m bench.latency [--seconds 20] [--json]``: live latency of three setups, side by side.

For each setup in turn: start it and push the encoder; once the playlist lists ``--join-segments``
segments (a show under way), ``--joins`` viewers watch one after another, each sampling every
0.5 s for ``--seconds`` once playback advances; tear down. Measures: hls.js ``hls.latency``,
``Date.now() - hls.playingDate`` (PDT; null without EXT-X-PROGRAM-DATE-TIME), the burnt-in clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser

from bench.latency.encoder import encoder_command, media_seconds
from bench.latency.player import PageServer, PlaybackFailed, chromium, page_server, watch
from bench.latency.procs import BenchError, spawn, tail
from bench.latency.report import figures, join_figures, settings, table
from bench.latency.setups import PEERS, SETUPS, Target


async def fetch_playlist(target: Target) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{target.http_base}{target.playlist_path}")


async def wait_for_playlist(
    target: Target, encoder: subprocess.Popen[bytes], log: Path, segments: int, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if encoder.poll() is not None:
            raise BenchError(f"the encoder exited with {encoder.returncode}:\n{tail(log)}")
        response = await fetch_playlist(target)
        if response.status_code == 200 and response.text.count("#EXTINF") >= segments:
            return
        await asyncio.sleep(0.25)
    raise BenchError(f"no playlist with {segments} segments after {timeout:g}s")


async def viewer_sessions(
    url: str, browser: Browser, args: argparse.Namespace, started: float
) -> list[dict[str, Any]]:
    """``--joins`` viewers one after another; a session that never plays is kept as its error."""
    sessions: list[dict[str, Any]] = []
    for _ in range(args.joins):
        joined_after = time.monotonic() - started
        try:
            watched = await watch(browser, url, seconds=args.seconds)
        except PlaybackFailed as error:
            sessions.append({"joined_after_s": round(joined_after, 1), "error": str(error)})
            continue
        sessions.append({**watched, "figures": join_figures(watched, joined_after)})
    return sessions


async def bench_one(
    name: str, workdir: Path, browser: Browser, pages: PageServer, args: argparse.Namespace
) -> dict[str, Any]:
    workdir.mkdir()
    async with SETUPS[name](workdir) as target:
        log, progress = workdir / "encoder.log", workdir / "encoder.progress"
        command = encoder_command(target.rtmp_url, progress=progress, gop_seconds=args.gop)
        with spawn(command, log, stop_signal=signal.SIGINT) as encoder:
            started = time.monotonic()
            await wait_for_playlist(target, encoder, log, args.join_segments)
            pages.upstreams[name] = target.http_base
            url = pages.page_url(name, target.playlist_path)
            media, wall = media_seconds(progress), time.monotonic()
            sessions = await viewer_sessions(url, browser, args, started)
            speed = (media_seconds(progress) - media) / (time.monotonic() - wall)
            playlist = (await fetch_playlist(target)).text
            if encoder.poll() is not None:
                raise BenchError(f"the encoder died during the measurement:\n{tail(log)}")
    # < 1: the encoder (or the ingest, through TCP back-pressure) could not keep up with real time.
    load = round(os.getloadavg()[0], 2)
    return {**figures(target, sessions, playlist), "encoder_speed": round(speed, 3), "load_average_1m": load}


async def bench_all(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="livecircle-latency-") as tmp:
        async with page_server() as pages, chromium() as browser:
            for name in args.setups:
                try:
                    results[name] = await bench_one(name, Path(tmp) / name, browser, pages, args)
                except Exception as error:  # one broken setup must not hide the others
                    results[name] = {"error": f"{type(error).__name__}: {error}"}
            version = browser.version
    return {
        **{name: value for name, value in results.items() if name not in PEERS},
        "peers": {name: value for name, value in results.items() if name in PEERS},
        "settings": settings(args, version, load_before[0]),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="sampling time per viewer (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--gop", type=float, default=1.0, help="encoder keyframe interval, s (default 1)")
    parser.add_argument(
        "--join-segments", type=int, default=5, help="segments listed before the viewer joins (default 5)"
    )
    parser.add_argument("--joins", type=int, default=3, help="viewer sessions per setup, in turn (default 3)")
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # clean up as on Ctrl-C
    return await bench_all(args)


if __name__ == "__main__":
    arguments = parse()
    try:
        outcome = asyncio.run(main(arguments))
    except (KeyboardInterrupt, asyncio.CancelledError):  # children and temp dirs are gone by now
        sys.exit(130)
    print(json.dumps(outcome, ensure_ascii=False) if arguments.json else table(outcome))
