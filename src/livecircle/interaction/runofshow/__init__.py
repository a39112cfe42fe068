"""Run-of-show: a script of timed and conditional steps per show (docs/runofshow.md).

``service`` plans, arms, fires (exactly once) and logs steps; ``actions`` runs what a step
does; ``templates`` saves and applies scripts. The names below are the service's, for the
callers that plan a poll or lottery at an offset (polls and lotteries routes, tasks).
"""

from livecircle.interaction.runofshow.service import (
    STEP_JOB,
    do_plan,
    do_schedule_show,
    get_step,
    list_steps,
)

__all__ = ["STEP_JOB", "do_plan", "do_schedule_show", "get_step", "list_steps"]
