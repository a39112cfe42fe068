"""Community errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class CommunityNotFound(AppError):
    code = "community_not_found"
    status_code = 404
    message = "No such community"


class NotCommunityMember(AppError):
    code = "not_community_member"
    status_code = 403
    message = "Join this community first"


class NotCommunityAdmin(AppError):
    code = "not_community_admin"
    status_code = 403
    message = "Only the community's owner or admins may do this"


class TierTooLow(AppError):
    code = "community_tier_required"
    status_code = 403
    message = "This community is for members of a higher tier"


class OwnerCannotLeave(AppError):
    code = "community_owner_cannot_leave"
    status_code = 409
    message = "The owner cannot leave the community; hand it over first"


class RoleChangeRefused(AppError):
    code = "community_role_refused"
    status_code = 409
    message = "This role change is not allowed"
