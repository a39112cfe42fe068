"""Live errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class RoomNotFound(AppError):
    code = "room_not_found"
    status_code = 404
    message = "No such room"


class ShowNotFound(AppError):
    code = "show_not_found"
    status_code = 404
    message = "No such show"


class NotRoomOwner(AppError):
    code = "not_room_owner"
    status_code = 403
    message = "Only the room's host or an operator can do this"


class CannotCreateRoom(AppError):
    code = "cannot_create_room"
    status_code = 403
    message = "Only hosts, operators and admins can create rooms"


class PublishRefused(AppError):
    code = "publish_refused"
    status_code = 403
    message = "The stream key is wrong or revoked"


class AlreadyPublishing(AppError):
    code = "already_publishing"
    status_code = 409
    message = "Another encoder is already publishing to this room"


class ShowNotLive(AppError):
    code = "show_not_live"
    status_code = 409
    message = "This show is not live"


class ReplayNotReady(AppError):
    code = "replay_not_ready"
    status_code = 404
    message = "The replay is not available (yet)"


class StreamNotLive(AppError):
    code = "stream_not_live"
    status_code = 404
    message = "The room is not live right now"


class CannotFollow(AppError):
    code = "cannot_follow"
    status_code = 422
    message = "This follow is not possible"
