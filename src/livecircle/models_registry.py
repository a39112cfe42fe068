"""Imports every domain's models so Base.metadata is complete (migrations, tests)."""

from __future__ import annotations


def load_all() -> None:
    import livecircle.analytics.alerts.models
    import livecircle.analytics.models
    import livecircle.analytics.planning.models
    import livecircle.analytics.report.models
    import livecircle.analytics.tags.models
    import livecircle.commerce.models
    import livecircle.community.discussion.models
    import livecircle.community.models
    import livecircle.economy.models
    import livecircle.economy.points_models
    import livecircle.growth.invites.models
    import livecircle.growth.notify.models
    import livecircle.identity.models
    import livecircle.interaction.cohost.models
    import livecircle.interaction.lotteries.models
    import livecircle.interaction.models
    import livecircle.interaction.polls.models
    import livecircle.interaction.qa.models
    import livecircle.interaction.runofshow.models
    import livecircle.kit.jobs
    import livecircle.kit.tracking
    import livecircle.live.models
    import livecircle.marketing.models
    import livecircle.moderation.models
    import livecircle.privacy.audit
    import livecircle.privacy.consent_models
    import livecircle.privacy.kit_tags
    import livecircle.privacy.models
    import livecircle.privacy.pseudonym  # noqa: F401
