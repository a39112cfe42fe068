"""python -m bench.fanout: livecircle's room fan-out against two Node peers, same load.

    python -m bench.fanout --viewers 5000 --rate 200 --seconds 20 --json

Each system in turn (server pinned to cpu 0, this load client to cpu 1): open the
viewers, send ``rate`` chat lines/s for ``seconds`` through real chat ops from sender
accounts that are viewers too, drain, and report. Prints
``{"livecircle": FIG, "peers": {...}, "ratios": {...}, "goals": {...}, "run": {...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
from typing import Any

import uvloop

from bench.fanout.run import Params, log, measure, senders_for
from bench.fanout.systems import LOAD_CPU, SYSTEMS, Options, workdir

PEERS = ("node_ws_batched", "socketio")
# The room overload policy (realtime/overload.py) folds ordinary lines past this many per
# second into one chat_summary event; the peers fold nothing, so for a like-for-like
# fan-out figure the budget is lifted. Pass LIVECIRCLE_REALTIME__OVERLOAD_CHAT_PER_SECOND=60
# to measure the product default (folded lines then count as lost).
DEFAULT_ENV = ("LIVECIRCLE_REALTIME__OVERLOAD_CHAT_PER_SECOND=1000000",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--viewers", type=int, default=5000, help="receiving connections (senders included)")
    parser.add_argument("--rate", type=float, default=200, help="chat lines per second, all senders together")
    parser.add_argument("--seconds", type=float, default=20, help="measured send window")
    parser.add_argument(
        "--tick-ms", type=int, default=50, help="tick of livecircle and the batched Node peer"
    )
    parser.add_argument(
        "--drain", type=float, default=2.0, help="seconds to wait for late lines after sending"
    )
    parser.add_argument("--per-sender-rate", type=float, default=0.5, help="lines/s per sender account")
    parser.add_argument(
        "--sample-every", type=int, default=0, help="parse every k-th viewer (0: ~200 of them)"
    )
    parser.add_argument("--ramp-rate", type=float, default=1000, help="new connections per second")
    parser.add_argument(
        "--ramp-inflight",
        type=int,
        default=200,
        help="connections awaiting hello at once (joins refused meanwhile are retried with back-off)",
    )
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}"
    )
    parser.add_argument(
        "--livecircle-ref", default=None, help="run livecircle from this git ref (default: the working tree)"
    )
    parser.add_argument(
        "--livecircle-loop",
        choices=("default", "asyncio"),
        default="default",
        help="diagnostic: serve livecircle on the stdlib loop instead of uvloop (same uvicorn arguments)",
    )
    parser.add_argument(
        "--livecircle-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"extra LIVECIRCLE_* setting for the server; defaults: {' '.join(DEFAULT_ENV)}",
    )
    parser.add_argument("--ramp-timeout", type=float, default=1200, help="give up a ramp after this many s")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        default=None,
        help="profile livecircle's server in the window (raw stacks)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)
    unknown = set(args.systems.split(",")) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    return args


def params_from(args: argparse.Namespace) -> Params:
    return Params(
        viewers=args.viewers,
        rate=args.rate,
        seconds=args.seconds,
        tick_ms=args.tick_ms,
        drain=args.drain,
        senders=senders_for(args.rate, args.viewers, args.per_sender_rate),
        sample_every=args.sample_every or max(1, args.viewers // 200),
        ramp_rate=args.ramp_rate,
        ramp_inflight=args.ramp_inflight,
        ramp_timeout=args.ramp_timeout,
        py_spy=args.py_spy,
    )


def prepare_process(viewers: int) -> None:
    """Pin the load client to its own core and allow one descriptor per connection."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOAD_CPU})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, viewers + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < viewers + 64:
        raise SystemExit(f"open-file limit {hard} is too low for {viewers} connections")


async def run_all(names: list[str], params: Params, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    main_task = asyncio.current_task()
    assert main_task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # uvloop does not see signal.signal handlers while polling
        asyncio.get_running_loop().add_signal_handler(sig, main_task.cancel)
    root = workdir()
    try:
        for name in names:
            opts = Options(
                tick_ms=params.tick_ms,
                senders=params.senders,
                workdir=root,
                livecircle_ref=args.livecircle_ref,
                livecircle_loop=args.livecircle_loop,
                livecircle_env=livecircle_env(args.livecircle_env),
            )
            try:
                results[name] = await measure(name, SYSTEMS[name], params, opts)
            except Exception as exc:  # one failing system still leaves the others' figures
                log(f"{name} failed: {exc}")
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            await asyncio.sleep(1.0)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def livecircle_env(pairs: list[str]) -> dict[str, str]:
    env = dict(pair.split("=", 1) for pair in DEFAULT_ENV)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("LIVECIRCLE_"):
            raise SystemExit(f"--livecircle-env wants LIVECIRCLE_KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    ours = results.get("livecircle", {}).get("delivered_per_s")
    out: dict[str, float | None] = {}
    for peer in PEERS:
        theirs = results.get(peer, {}).get("delivered_per_s")
        if peer in results:
            out[f"vs_{peer}"] = round(ours / theirs, 2) if ours and theirs else None
    return out


def goals(results: dict[str, dict[str, Any]], ratio: dict[str, float | None], viewers: int) -> dict[str, Any]:
    """The targets for livecircle (p99 <= 200 ms, or 300 ms from 10,000 viewers)."""
    ours = results.get("livecircle", {})
    if "p99_ms" not in ours:
        return {}
    p99_goal = 300.0 if viewers >= 10_000 else 200.0
    checks: dict[str, Any] = {
        f"p99_le_{p99_goal:g}ms": ours["p99_ms"] is not None and ours["p99_ms"] <= p99_goal,
        "zero_loss": ours["lost"] == 0,
    }
    for peer, factor in (("node_ws_batched", 1.0), ("socketio", 3.0)):
        if (value := ratio.get(f"vs_{peer}")) is not None:
            checks[f"ge_{factor:g}x_{peer}"] = value >= factor
    checks["all_met"] = all(checks.values())
    return checks


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = params_from(args)
    prepare_process(params.viewers)
    names = [name for name in SYSTEMS if name in args.systems.split(",")]
    log(f"{params.viewers} viewers ({params.senders} senders among them), {params.rate:g} lines/s: {names}")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        try:
            results = runner.run(run_all(names, params, args))
        except asyncio.CancelledError:
            log("interrupted; servers stopped")
            raise SystemExit(130) from None
    ratio = ratios(results)
    report = {
        "livecircle": results.get("livecircle"),
        "peers": {name: results[name] for name in PEERS if name in results},
        "ratios": ratio,
        "goals": goals(results, ratio, params.viewers),
        "run": {
            **{key: getattr(params, key) for key in Params.__dataclass_fields__},
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pinning": {"servers": "cpu0 (taskset -c 0)", "load_client": f"cpu{LOAD_CPU}"},
        },
    }
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
