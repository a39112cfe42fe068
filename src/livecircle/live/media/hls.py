"""HLS delivery helpers: playlist reading, replay stitching, playback-session counting."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path

_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+\.(ts|m4s|mp4)$")
_EXTINF = re.compile(r"#EXTINF:([0-9.]+)")


def safe_segment_name(name: str) -> bool:
    """Only plain segment file names are served (no path traversal)."""
    return bool(_SEGMENT.fullmatch(name))


def read_playlist(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def playlist_duration_ms(text: str) -> int:
    return int(sum(float(m) for m in _EXTINF.findall(text)) * 1000)


def stitch_replay(parts: Iterable[tuple[str, str]]) -> str:
    """One VOD playlist from several recorded parts: ``(url_prefix, playlist_text)`` each.

    A reconnect inside the grace window makes a new part; parts are joined with
    ``#EXT-X-DISCONTINUITY`` so the player resets timestamps between them.
    """
    body: list[str] = []
    target = 2
    for index, (prefix, text) in enumerate(parts):
        if index:
            body.append("#EXT-X-DISCONTINUITY")
        for line in text.splitlines():
            if line.startswith("#EXT-X-TARGETDURATION:"):
                target = max(target, int(float(line.split(":", 1)[1])))
            elif line.startswith(("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME")):
                body.append(line)
            elif line and not line.startswith("#"):
                body.append(f"{prefix}{line}")
    head = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    return "\n".join([*head, *body, "#EXT-X-ENDLIST", ""])


class PlaybackSessions:
    """Counts HLS viewers by playback session id: a session is active while it
    keeps fetching the playlist (players refresh it every target duration)."""

    def __init__(self, ttl_seconds: float = 10.0) -> None:
        self.ttl = ttl_seconds
        self._seen: dict[str, dict[str, float]] = {}

    def touch(self, stream: str, session_id: str) -> None:
        self._seen.setdefault(stream, {})[session_id] = time.monotonic()

    def active(self, stream: str) -> int:
        sessions = self._seen.get(stream, {})
        cutoff = time.monotonic() - self.ttl
        for sid in [sid for sid, seen in sessions.items() if seen < cutoff]:
            del sessions[sid]
        return len(sessions)

    def total_active(self) -> int:
        return sum(self.active(stream) for stream in list(self._seen))
