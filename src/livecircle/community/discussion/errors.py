"""Discussion errors (the word filter's refusal is moderation's ``MessageBlocked``, code
``blocked``; membership and admin checks raise the community's own errors)."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class PostNotFound(AppError):
    code = "post_not_found"
    status_code = 404
    message = "No such post"


class CommentNotFound(AppError):
    code = "comment_not_found"
    status_code = 404
    message = "No such comment"


class PostNotVisible(AppError):
    code = "post_not_visible"
    status_code = 409
    message = "This post is not visible to members: approve it first"


class DiscussionTextInvalid(AppError):
    code = "discussion_text_invalid"
    status_code = 422
    message = "The text is empty or too long"


class NotAuthor(AppError):
    code = "not_author"
    status_code = 403
    message = "Only its author or the community's admins may do this"


class NotPinnable(AppError):
    code = "post_not_pinnable"
    status_code = 409
    message = "Only a visible announcement can be pinned"


class DailyTopicExists(AppError):
    code = "daily_topic_exists"
    status_code = 409
    message = "This community has today's topic already"


class NoDailyTopic(AppError):
    code = "no_daily_topic"
    status_code = 409
    message = "There is no daily topic to check in on today"


class ReportOwnContent(AppError):
    code = "report_own_content"
    status_code = 409
    message = "You cannot report what you wrote"


class ActivityNotFound(AppError):
    code = "activity_not_found"
    status_code = 404
    message = "No such activity"


class ActivityTimesInvalid(AppError):
    code = "activity_times_invalid"
    status_code = 422
    message = "An activity starts in the future and ends after it starts"


class ActivityFull(AppError):
    code = "activity_full"
    status_code = 409
    message = "This activity is full"


class SignupClosed(AppError):
    code = "activity_signup_closed"
    status_code = 409
    message = "Sign-up for this activity is closed"


class CapacityBelowSignups(AppError):
    code = "activity_capacity_below_signups"
    status_code = 409
    message = "More members have signed up than this capacity allows"
