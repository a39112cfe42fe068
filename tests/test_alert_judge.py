"""The alert judge's cheap pass over every live show: one query tells which shows have had
too few viewers for any rule, and those are not looked at one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

from livecircle.analytics.alerts.models import AlertRule
from livecircle.analytics.alerts.tasks import _too_few
from livecircle.analytics.alerts.window import most_online, window_figures
from livecircle.analytics.store import connect, load_rows
from livecircle.kit.tracking import event_row

NOW = datetime(2026, 11, 26, 12, 0, 0)


def rule(min_viewers: int, room_id: int | None = None, *, enabled: bool = True) -> AlertRule:
    return AlertRule(
        tenant_id=1, room_id=room_id, metric="interaction_rate", comparator="<", threshold=0.05,
        window_seconds=60, min_viewers=min_viewers, enabled=enabled,
    )  # fmt: skip


def samples(show_id: int, *online: int) -> list[dict[str, object]]:
    return [
        event_row("online_sample", tenant_id=1, room_id=show_id, show_id=show_id, amount=count,
                  ts=NOW - timedelta(seconds=5 * (len(online) - i)))
        for i, count in enumerate(online)
    ]  # fmt: skip


def test_most_online_is_the_highest_sample_in_the_window_for_every_show_at_once() -> None:
    con = connect()
    rows = [*samples(1, 0, 0, 0), *samples(2, 3, 9, 4), *samples(3, 40)]
    load_rows(con, [row | {"seq": seq} for seq, row in enumerate(rows, 1)])
    assert most_online(con, [1, 2, 4], now=NOW, seconds=60) == {1: 0, 2: 9}
    assert most_online(con, [2], now=NOW, seconds=7) == {2: 4}  # only the last sample is that recent
    # What the skip relies on: the mean the rule compares with never exceeds the most.
    figures = window_figures(con, 2, now=NOW, seconds=60)
    assert figures["mean_online"] <= 9


def test_a_show_is_skipped_only_when_no_rule_of_its_room_can_reach_its_viewers() -> None:
    rules = [rule(5), rule(2, room_id=7), rule(0, room_id=8, enabled=False)]
    assert _too_few(rules, 1, 4)  # only the tenant rule applies: it wants 5
    assert not _too_few(rules, 1, 5)
    assert not _too_few(rules, 7, 4)  # the room's own rule wants only 2
    assert _too_few(rules, 7, 1)
    assert _too_few(rules, 8, 3)  # room 8's own rule is disabled: the tenant's 5 stands
    assert not _too_few(rules, 1, None)  # no sample in the window: judged in full
    assert _too_few([], 1, None)  # no rule at all: nothing to judge
    assert _too_few([rule(5, enabled=False)], 1, 50)
