"""The clocks of live cohorts: the replay clock's pace, and the wall clock taking each bar only once its
minute has closed and it is stored."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cohorts.selectors.market import bar_window
from cohorts.services.clocks import ReplayClock, WallClock, clock_named

START, END = datetime(2021, 5, 6, tzinfo=UTC), datetime(2021, 5, 6, 2, tzinfo=UTC)
SYMBOLS = ["BTC-USDT", "ETH-USDT"]


def test_the_replay_clock_serves_the_stored_bars_a_minute_apart_at_its_speed(crypto_hours):
    slept = []
    feed = ReplayClock(120, sleep=slept.append).feed(symbols=SYMBOLS, start=START, end=END)
    assert list(feed.arrivals(100)) == list(range(100, 120)) and slept == [0.5] * 19
    whole = bar_window(symbols=SYMBOLS, start=START, end=END)
    head = feed.window(37)
    assert head.shape == (37, 2) and np.array_equal(head.close, whole.close[:37])
    assert ReplayClock(0).delay == 0 and ReplayClock(float("inf")).delay == 0
    with pytest.raises(ValueError):
        clock_named("sundial")


def test_the_wall_clock_takes_each_bar_after_its_minute_closes(crypto_hours):
    now = [START + timedelta(minutes=30, seconds=10)]
    clock = WallClock(delay=5, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + timedelta(seconds=s)))
    feed = clock.feed(symbols=SYMBOLS, start=START, end=END)
    taken = []
    for t in feed.arrivals(0):
        bar_open = feed.window(t + 1).timestamps[t].astype("datetime64[s]").astype(datetime).replace(tzinfo=UTC)
        assert now[0] >= bar_open + timedelta(minutes=1)  # never before its minute has closed
        taken.append((t, now[0]))
    assert [t for t, _ in taken] == list(range(120))
    assert taken[29][1] == START + timedelta(minutes=30, seconds=10)  # the first 30 were already stored
    assert taken[30][1] == START + timedelta(minutes=31, seconds=5)  # then one a minute, 5 s after it closes
    assert now[0] >= END + clock.grace  # it gave up waiting only after the window's end and its grace
