"""Run-of-show errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class ScriptClosed(AppError):
    code = "script_closed"
    status_code = 409
    message = "The show has ended: its script can no longer change"


class StepNotOpen(AppError):
    code = "step_not_open"
    status_code = 409
    message = "The step has fired, failed or been skipped already"


class TemplateNotFound(AppError):
    code = "script_template_not_found"
    status_code = 404
    message = "No such script template"


class TemplateNameTaken(AppError):
    code = "script_template_name_taken"
    status_code = 409
    message = "A script template of that name exists already"


class StepTargetInvalid(AppError):
    code = "step_target_invalid"
    status_code = 422
    message = "The step's target cannot be used in this show"


class ActionUnavailable(AppError):
    code = "step_action_unavailable"
    status_code = 409
    message = "This action is not available on this node"
