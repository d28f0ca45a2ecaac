"""The shared rate limiter against a real redis-server: spacing, queue order, pauses, many senders at once."""

import threading
import time

import pytest

from teleglas.deliver.ratelimit import RateLimiter, RateLimits
from teleglas.model.chat import is_group_chat
from tests.support.settings import make_settings

LIMITS = RateLimits(bot_interval_s=0.01, chat_interval_s=0.2, group_interval_s=0.5, max_inline_wait_s=0.05)


@pytest.fixture
def limiter(state):
    return RateLimiter(state.redis, "100000001", LIMITS)


def test_limits_from_settings_follow_telegram_with_a_margin():
    limits = RateLimits.from_settings(make_settings())
    assert limits.bot_interval_s == pytest.approx(1 / 25)
    assert limits.chat_interval_s == pytest.approx(1.1)
    assert limits.group_interval_s == pytest.approx(3.1)  # 20 per minute, plus the margin
    assert [is_group_chat(c) for c in (42, -4001, -1001000000001, "@news")] == [False, True, True, True]


def test_a_burst_to_one_chat_gets_consecutive_slots_in_arrival_order(limiter):
    first = limiter.acquire(42)
    assert first.granted and first.wait_s == 0
    later = [limiter.acquire(42) for _ in range(3)]
    assert not any(p.granted for p in later)
    assert [round(p.wait_s, 1) for p in later] == [0.2, 0.4, 0.6]
    assert [round(b.slot - a.slot, 3) for a, b in zip([first, *later], later)] == [0.2, 0.2, 0.2]


def test_a_held_slot_is_kept_until_due_then_granted(limiter):
    limiter.acquire(42)
    held = limiter.acquire(42)
    early = limiter.acquire(42, held.slot)
    assert not early.granted and early.slot == held.slot  # asking again early keeps the place
    time.sleep(max(early.wait_s - 0.03, 0))
    due = limiter.acquire(42, held.slot)
    assert due.granted and due.wait_s <= LIMITS.max_inline_wait_s


def test_groups_are_spaced_by_the_group_limit_and_chats_do_not_block_each_other(limiter):
    assert limiter.acquire(-4001).granted
    assert limiter.acquire(-4001).wait_s == pytest.approx(0.5, abs=0.01)
    other = limiter.acquire(42)
    assert other.granted and other.wait_s <= LIMITS.bot_interval_s + 0.001  # only the bot spacing applies


def test_a_pause_holds_every_chat_and_overtaken_slots_are_renewed(limiter):
    limiter.acquire(42)
    held = limiter.acquire(42)
    assert limiter.pause(1.0) == pytest.approx(1.0)
    assert limiter.pause(0.2) == pytest.approx(1.0, abs=0.01)  # a shorter pause never shortens a longer one
    for chat in (7, -4001):
        assert limiter.acquire(chat).wait_s == pytest.approx(1.0, abs=0.02)
    renewed = limiter.acquire(42, held.slot)
    assert not renewed.granted and renewed.slot > held.slot + LIMITS.chat_interval_s


def test_many_senders_at_once_never_start_closer_than_the_spacing(state):
    limiter = RateLimiter(state.redis, "100000001", RateLimits(0.001, 0.05, 0.2, 0.03))
    starts: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        slot = None
        for _ in range(5):
            while True:
                permit = limiter.acquire(42, slot)
                if permit.granted:
                    with lock:
                        starts.append(time.time() + permit.wait_s)
                    time.sleep(permit.wait_s)
                    slot = None
                    break
                slot = permit.slot
                time.sleep(permit.wait_s)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    starts.sort()
    assert len(starts) == 40
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.05 - 0.005, gaps
    assert starts[-1] - starts[0] < 40 * 0.05 * 1.5  # slots are reused, not wasted
