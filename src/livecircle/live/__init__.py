"""Live: rooms, shows (场次), stream keys, media adapters, HLS delivery and replays.

Exposes ``service`` (access_room, publish/unpublish decisions, show lifecycle),
``events`` (ShowStarted, ShowEnded), and the media adapters in ``media``.
"""
