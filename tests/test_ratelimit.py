"""The in-process rate-limit storage: moving windows as `limits` defines them, no thread of its own, and keys
that are no longer used forgotten."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from backend.ratelimit import LocalStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:  # this file's own clock (the storage takes one); not the app's `clock` fixture
    return Clock()


def test_a_moving_window_refuses_the_hit_over_the_limit_and_frees_a_slot_as_each_hit_leaves(clock):
    limiter = MovingWindowRateLimiter(LocalStorage(clock=clock))
    item = parse("3/minute")
    for _ in range(3):
        assert limiter.hit(item, "login-ip", "203.0.113.7")
        clock.now += 10
    assert not limiter.hit(item, "login-ip", "203.0.113.7")
    assert not limiter.test(item, "login-ip", "203.0.113.7")
    stats = limiter.get_window_stats(item, "login-ip", "203.0.113.7")
    assert stats.remaining == 0
    assert stats.reset_time == 1_000_060.0  # when the first hit leaves the window

    assert limiter.hit(item, "login-ip", "198.51.100.1"), "another key has its own window"
    clock.now = 1_000_060.0
    assert limiter.test(item, "login-ip", "203.0.113.7")
    assert limiter.hit(item, "login-ip", "203.0.113.7")
    assert not limiter.hit(item, "login-ip", "203.0.113.7"), "the second and third are still in the window"


def test_a_refused_hit_is_not_counted_and_a_cost_over_the_limit_is_refused(clock):
    limiter = MovingWindowRateLimiter(LocalStorage(clock=clock))
    item = parse("2/hour")
    assert not limiter.hit(item, "k", cost=3)
    assert limiter.hit(item, "k", cost=2)
    for _ in range(5):
        assert not limiter.hit(item, "k")
    clock.now += 3600
    assert limiter.get_window_stats(item, "k").remaining == 2


def test_it_starts_no_thread_however_many_hits(clock):
    limiter = MovingWindowRateLimiter(LocalStorage(clock=clock))
    item = parse("1000000/minute")
    before = threading.active_count()
    for n in range(2000):
        limiter.hit(item, "signatures:sign", f"ip-{n % 50}")
        clock.now += 0.001
    assert threading.active_count() == before


def test_keys_left_idle_longer_than_their_window_are_forgotten(clock):
    storage = LocalStorage(clock=clock)
    limiter = MovingWindowRateLimiter(storage)
    minute, hour = parse("5/minute"), parse("5/hour")
    limiter.hit(minute, "a")
    limiter.hit(hour, "b")
    limiter.test(minute, "only-checked")
    clock.now += LocalStorage.SWEEP_SECONDS + 1
    limiter.hit(minute, "c")  # a hit sweeps, at most once a minute
    assert set(storage._hits) == {hour.key_for("b"), minute.key_for("c")}
    assert limiter.get_window_stats(hour, "b").remaining == 4


def test_fixed_windows_count_and_start_again(clock):
    limiter = FixedWindowRateLimiter(LocalStorage(clock=clock))
    item = parse("2/minute")
    assert limiter.hit(item, "k") and limiter.hit(item, "k")
    assert not limiter.hit(item, "k")
    clock.now += 61
    assert limiter.hit(item, "k")


def test_reset_and_clear_forget_counts(clock):
    storage = LocalStorage(clock=clock)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("1/minute")
    limiter.hit(item, "a")
    limiter.hit(item, "b")
    storage.clear(item.key_for("a"))
    assert limiter.hit(item, "a")
    assert not limiter.hit(item, "b")
    storage.reset()
    assert limiter.hit(item, "b")
