"""Tag errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class TagRuleNotFound(AppError):
    code = "tag_rule_not_found"
    status_code = 404
    message = "No such tag rule"


class TagRuleInvalid(AppError):
    code = "tag_rule_invalid"
    status_code = 422
    message = "The tag rule's definition is not valid"


class TagRuleNameTaken(AppError):
    code = "tag_rule_name_taken"
    status_code = 409
    message = "Another tag rule has this name"
