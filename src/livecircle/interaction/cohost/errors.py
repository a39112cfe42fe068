"""Why a co-host action was refused; every case is a 4xx with a stable code."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class CohostNotLive(AppError):
    code = "cohost_not_live"
    status_code = 409
    message = "Co-hosting opens when the host is live"


class CohostOwnRoom(AppError):
    code = "cohost_own_room"
    status_code = 409
    message = "The host is on stage already"


class CohostAlreadyActive(AppError):
    code = "cohost_already_active"
    status_code = 409
    message = "There is already a co-host request for this user in this show"


class CohostFull(AppError):
    code = "cohost_full"
    status_code = 409
    message = "All co-host seats are taken; remove a co-host first"


class CohostQueueFull(AppError):
    code = "cohost_queue_full"
    status_code = 409
    message = "The co-host queue is full; try again later"


class CohostCooldown(AppError):
    code = "cohost_cooldown"
    status_code = 429
    message = "You can apply to co-host again in a moment"


class CohostRequestNotFound(AppError):
    code = "cohost_request_not_found"
    status_code = 404
    message = "No such co-host request"


class CohostWrongState(AppError):
    code = "cohost_wrong_state"
    status_code = 409
    message = "The co-host request is no longer in a state that allows this"


class CohostUserNotFound(AppError):
    code = "cohost_user_not_found"
    status_code = 404
    message = "No such user"
