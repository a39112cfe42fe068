"""A real encoder for the tests: ffmpeg pushing a 1280×720 test pattern with audio over RTMP."""

from __future__ import annotations

import asyncio
import shutil

from livecircle.live.media.ffmpeg import find_ffmpeg


def encoder_command(rtmp_url: str, *, seconds: float | None = None, realtime: bool = True) -> list[str]:
    duration = ["-t", str(seconds)] if seconds else []
    return [
        find_ffmpeg(),
        "-hide_banner",
        "-loglevel",
        "error",
        *(["-re"] if realtime else []),
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        *duration,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-g",
        "25",
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


async def start_encoder(rtmp_url: str, *, seconds: float | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *encoder_command(rtmp_url, seconds=seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_encoder(process: asyncio.subprocess.Process) -> None:
    """Stop like an operator pressing "stop streaming": a clean disconnect."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


def have_libx264() -> bool:
    return shutil.which("ffmpeg") is not None or bool(find_ffmpeg())
