"""Q&A errors (asking without a live show reuses ``live.errors.ShowNotLive``, code
``show_not_live``; a word-filter block reuses ``moderation.errors.MessageBlocked``, ``blocked``)."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class QuestionNotFound(AppError):
    code = "question_not_found"
    status_code = 404
    message = "No such question"


class QuestionTextInvalid(AppError):
    code = "question_text_invalid"
    status_code = 422
    message = "A question has 1 to 300 characters"


class OwnQuestion(AppError):
    code = "own_question"
    status_code = 409
    message = "You cannot upvote your own question"


class QuestionClosed(AppError):
    code = "question_closed"
    status_code = 409
    message = "This question is no longer open"


class TooManyQuestions(AppError):
    code = "too_many_questions"
    status_code = 409
    message = "You have too many open questions in this show; wait for the host to answer"


class QuestionCooldown(AppError):
    code = "question_cooldown"
    status_code = 429
    message = "You asked a moment ago; wait before asking again"
