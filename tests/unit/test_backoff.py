import random

import pytest

from teleglas.source.backoff import Backoff


def test_sequence_doubles_from_the_base_up_to_the_cap_with_bounded_jitter():
    backoff = Backoff(base_s=2, cap_s=60, jitter=0.25, rng=random.Random(7))
    expected_raw = [2, 4, 8, 16, 32, 60, 60, 60]
    delays = [backoff.next_delay() for _ in expected_raw]
    for delay, raw in zip(delays, expected_raw):
        assert raw * 0.75 <= delay <= raw
    assert max(delays) <= 60


def test_jitter_spreads_a_fleet():
    delays = {round(Backoff(rng=random.Random(seed)).next_delay(), 6) for seed in range(50)}
    assert len(delays) > 40 and min(delays) >= 1.5 and max(delays) <= 2.0


def test_no_jitter_is_exact():
    backoff = Backoff(base_s=1, cap_s=5, jitter=0)
    assert [backoff.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize("healthy_for, next_raw", [(59.9, 8), (60, 2)])
def test_reset_only_after_a_healthy_period(healthy_for, next_raw):
    backoff = Backoff(jitter=0)
    backoff.next_delay(), backoff.next_delay()
    backoff.connection_ended(healthy_for_s=healthy_for)
    assert backoff.next_delay() == next_raw


def test_refused_key_waits_at_the_cap():
    backoff = Backoff(jitter=0)
    backoff.jump_to_cap()
    assert backoff.next_delay() == 60
    backoff.jump_to_cap()
    assert backoff.next_delay() == 60
