"""Finding ffmpeg and building its command lines."""

from __future__ import annotations

import shutil
from pathlib import Path


def find_ffmpeg(configured: str = "") -> str:
    """ffmpeg from settings, else PATH, else the binary shipped in the imageio-ffmpeg wheel."""
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def hls_output(directory: Path, *, segment_seconds: int, list_size: int, live: bool) -> list[str]:
    """Arguments for one HLS output: a sliding live window, or a growing recording."""
    args = ["-map", "0", "-c", "copy", "-f", "hls", "-hls_time", str(segment_seconds)]
    if live:
        flags = "delete_segments+independent_segments+program_date_time+omit_endlist"
        # Epoch-based sequence numbers keep rising when a publisher reconnects,
        # so players and segment names never go backwards within a show.
        args += [
            "-hls_list_size",
            str(list_size),
            "-hls_flags",
            flags,
            "-hls_delete_threshold",
            "2",
            "-hls_start_number_source",
            "epoch",
        ]
    else:
        args += [
            "-hls_list_size",
            "0",
            "-hls_playlist_type",
            "event",
            "-hls_flags",
            "independent_segments+program_date_time",
        ]
    return [*args, "-hls_segment_filename", str(directory / "seg_%05d.ts"), str(directory / "index.m3u8")]


def ingest_command(
    ffmpeg: str, *, live_dir: Path, record_dir: Path, segment_seconds: int, list_size: int
) -> list[str]:
    """FLV on stdin → live HLS window + a recording kept for the replay."""
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "warning",
        "-fflags",
        "+genpts",
        "-f",
        "flv",
        "-i",
        "pipe:0",
        *hls_output(live_dir, segment_seconds=segment_seconds, list_size=list_size, live=True),
        *hls_output(record_dir, segment_seconds=max(segment_seconds, 2), list_size=0, live=False),
    ]


def remux_command(ffmpeg: str, *, source: Path, record_dir: Path) -> list[str]:
    """A finished FLV recording (nginx-rtmp) → an HLS VOD recording."""
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "warning",
        "-y",
        "-i",
        str(source),
        "-map",
        "0",
        "-c",
        "copy",
        "-f",
        "hls",
        "-hls_time",
        "4",
        "-hls_list_size",
        "0",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        str(record_dir / "seg_%05d.ts"),
        str(record_dir / "index.m3u8"),
    ]
