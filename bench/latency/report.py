"""Page samples → figures (p50 / p90 / max per measure, per setup and per viewer) and a plain table."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
from typing import Any

from bench.latency.encoder import FPS
from bench.latency.setups import SETUPS, Target

# result key → key of a page sample (bench/latency/page.html)
MEASURES = {"hls_latency": "latency", "pdt": "pdt", "glass_to_glass": "clock"}


def summary(values: list[float]) -> dict[str, float] | None:
    """p50 / p90 / max (nearest rank) in seconds, 10 ms resolution; None without values."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)], 2)

    return {"p50": rank(0.5), "p90": rank(0.9), "max": round(ordered[-1], 2)}


def playlist_facts(text: str) -> dict[str, Any]:
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", text)]
    target = re.search(r"#EXT-X-TARGETDURATION:(\d+)", text)
    return {
        "target_duration_s": int(target.group(1)) if target else None,
        "segments": len(durations),
        "window_s": round(sum(durations), 2),
        "program_date_time": "#EXT-X-PROGRAM-DATE-TIME" in text,
    }


def _p50(samples: list[dict[str, Any]], key: str) -> float | None:
    return (summary([s[key] for s in samples if s[key] is not None]) or {}).get("p50")


def join_figures(watched: dict[str, Any], joined_after: float) -> dict[str, Any]:
    """One viewer session: when it joined, its first frame, and where hls.js settled."""
    samples = watched["samples"]
    return {
        "joined_after_s": round(joined_after, 1),
        "time_to_first_frame_s": round(watched["ttff"], 2),
        "hls_target_latency_s": watched["targetLatency"],
        **{f"{name}_p50": _p50(samples, key) for name, key in MEASURES.items()},
        "stalls": watched["stalls"],
        "player_errors": watched["errors"],
    }


def figures(target: Target, sessions: list[dict[str, Any]], playlist: str) -> dict[str, Any]:
    """All samples of all viewer sessions of one setup, summarised."""
    played = [s for s in sessions if "samples" in s]
    samples = [sample for session in played for sample in session["samples"]]
    series = {name: [s[key] for s in samples if s[key] is not None] for name, key in MEASURES.items()}
    pdt_error = [s["pdt"] - s["clock"] for s in samples if s["pdt"] is not None and s["clock"] is not None]
    return {
        "description": target.description,
        **{name: summary(values) for name, values in series.items()},
        "pdt_minus_glass_to_glass_p50": (summary(pdt_error) or {}).get("p50"),
        "time_to_first_frame_s": summary([s["ttff"] for s in played]),
        "samples": len(samples),
        "joins": [s.get("figures", s) for s in sessions],
        "playlist": playlist_facts(playlist),
    }


def settings(args: argparse.Namespace, chromium_version: str, load_before: float) -> dict[str, Any]:
    return {
        "command": f"python -m bench.latency --seconds {args.seconds:g} --joins {args.joins} "
        f"--gop {args.gop:g} --join-segments {args.join_segments}",
        "sample_every_s": 0.5,
        "joins": f"{args.joins} viewers one after another, the first once the playlist lists "
        f"{args.join_segments} segments; each samples for {args.seconds:g} s",
        "encoder": f"ffmpeg -re testsrc2 1280x720 {FPS} fps + sine, libx264 veryfast zerolatency, "
        f"GOP {args.gop:g} s, AAC 64k, burnt-in wall clock",
        "player": "vendored hls.js, default config, same page for every setup",
        "browser": f"Chromium {chromium_version} headless, --disable-gpu",
        "machine": f"{os.cpu_count()} vCPU {platform.machine()}, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after",
    }


def _triple(value: dict[str, float] | None) -> str:
    return "—" if value is None else "{p50:.1f} / {p90:.1f} / {max:.1f}".format(**value)


def _cells(value: dict[str, Any]) -> list[str]:
    if "error" in value:
        return [value["error"][:110], "", "", "", "", "", ""]
    ttff = value["time_to_first_frame_s"]
    played = sum("error" not in join for join in value["joins"])
    return [
        *(_triple(value[name]) for name in MEASURES),
        "—" if ttff is None else f"{ttff['p50']:.1f}",
        str(value["playlist"]["target_duration_s"]),
        f"{played}/{len(value['joins'])}",
        f"{value['encoder_speed']:.2f}x",
    ]


def table(result: dict[str, Any]) -> str:
    """Seconds, p50 / p90 / max over all samples of all viewers; then the settings."""
    head = ["setup", "hls.latency", "PDT", "burnt-in clock", "TTFF p50", "segment", "played", "encoder"]
    named = {**{k: v for k, v in result.items() if k in SETUPS}, **result["peers"]}
    rows = [head, *([name, *_cells(value)] for name, value in named.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([*lines, "", json.dumps(result["settings"], indent=2, ensure_ascii=False)])
