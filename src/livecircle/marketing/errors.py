"""Campaign errors."""

from __future__ import annotations

from livecircle.kit.errors import AppError


class CampaignNotFound(AppError):
    code = "campaign_not_found"
    status_code = 404
    message = "No such campaign"


class CampaignInvalid(AppError):
    code = "campaign_invalid"
    status_code = 422
    message = "The campaign's definition is not valid"


class CampaignNotEditable(AppError):
    code = "campaign_not_editable"
    status_code = 409
    message = "An ended campaign cannot change"


class ClickLinkInvalid(AppError):
    code = "click_link_invalid"
    status_code = 404
    message = "This link is not valid"
