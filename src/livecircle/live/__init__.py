"""Live: rooms, shows (场次), stream keys, media adapters, HLS delivery and replays.

Exposes ``service`` (access_room, publish/unpublish decisions, show lifecycle),
``audience`` (follows, watch time), ``events`` (ShowStarted, ShowEnded, HostFollowed,
WatchCredited), and the media adapters in ``media``.
"""
