"""The encoder: ffmpeg pushing testsrc2 1280×720 30 fps + a sine tone, with a burnt-in wall clock.

The clock is a 24-bit barcode of the wall-clock milliseconds at the moment each frame leaves
``-re`` pacing and enters the filter graph (``setpts=RTCTIME``), drawn as white boxes in a black
strip at the top. The page reads it back from the displayed frame, so ``now - clock`` is
glass-to-glass from "frame produced" to "frame shown", encoder buffering included.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

FPS = 30
CLOCK_BITS = 24  # milliseconds modulo 2**24 (≈ 4.6 h); the page unwraps against Date.now()
BOX = 40  # pixels per bit; box k is centred at x = BOX * (k + 1) + BOX / 2, y = 24


def clock_filter(bits: int = CLOCK_BITS) -> str:
    """Filter chain: stamp pts with the wall clock, draw its bits, restore regular timestamps."""
    boxes = [
        f"drawbox=x=0:y=0:w={BOX * (bits + 1)}:h=48:color=black:t=fill",
        "drawbox=x=4:y=4:w=32:h=40:color=white:t=fill",  # reference: always white
    ]
    boxes += [
        f"drawbox=x={BOX * (k + 1) + 4}:y=4:w=32:h=40:color=white:t=fill:enable='mod(floor(t*1000/{2**k}),2)'"
        for k in range(bits)
    ]
    return ",".join(["settb=AVTB", "setpts=RTCTIME", *boxes, f"setpts=N/({FPS}*TB)"])


def encoder_command(rtmp_url: str, *, progress: Path, gop_seconds: float = 1.0) -> list[str]:
    """Like tests/media_tools.py (x264 veryfast zerolatency, AAC), at 30 fps with the clock."""
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-progress",
        str(progress),
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size=1280x720:rate={FPS}",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-vf",
        clock_filter(),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-g",
        str(round(FPS * gop_seconds)),
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "flv",
        rtmp_url,
    ]


def media_seconds(progress: Path) -> float:
    """How much media the encoder has sent so far (its last ``out_time_us`` in the -progress file)."""
    with contextlib.suppress(OSError):
        times = re.findall(r"^out_time_us=(\d+)$", progress.read_text(), re.MULTILINE)
        return int(times[-1]) / 1e6 if times else 0.0
    return 0.0
