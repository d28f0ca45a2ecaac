"""The shared rate limiter against a real redis-server: spacing, queue order, pauses, many senders at once.

Spacing is asserted on the limiter's own start times (Redis's clock, `Permit.starts_at`), not on the test's clock:
a loaded machine can delay the test between two calls, but cannot move what the limiter decided."""

import itertools
import threading
import time

import pytest

from teleglas.deliver.ratelimit import Guard, Permit, RateLimiter, RateLimits, Refusal, Refused
from teleglas.model.chat import is_group_chat
from tests.support.settings import make_settings

LIMITS = RateLimits(bot_interval_s=0.01, chat_interval_s=0.2, group_interval_s=0.5, max_inline_wait_s=0.05)
_PARTS = itertools.count()


def budget(limiter: RateLimiter, chat, slot: float | None = None) -> Permit:
    """The budget alone: each call guards a part of its own, which nothing has sent or holds."""
    answer = limiter.acquire(Guard("bot", f"part-{next(_PARTS)}", "sender", 60.0), chat, slot)
    assert isinstance(answer, Permit)
    return answer


@pytest.fixture
def limiter(state):
    return RateLimiter(state.redis, "100000001", LIMITS)


def test_limits_from_settings_follow_telegram_with_a_margin():
    limits = RateLimits.from_settings(make_settings())
    assert limits.bot_interval_s == pytest.approx(1 / 25)
    assert limits.chat_interval_s == pytest.approx(1.1)
    assert limits.group_interval_s == pytest.approx(3.1)  # 20 per minute, plus the margin
    assert [is_group_chat(c) for c in (42, -4001, -1001000000001, "@news")] == [False, True, True, True]


def test_a_burst_to_one_chat_gets_consecutive_slots_in_arrival_order(state):
    limits = RateLimits(bot_interval_s=0.01, chat_interval_s=5.0, group_interval_s=5.0, max_inline_wait_s=0.05)
    limiter = RateLimiter(state.redis, "100000001", limits)  # slots 5 s apart: no delay of the test reaches one
    first = budget(limiter, 42)
    assert first.granted and first.wait_s == 0 and first.starts_at == first.slot
    later = [budget(limiter, 42) for _ in range(3)]
    assert not any(p.granted for p in later)
    assert [round(p.starts_at - first.starts_at, 6) for p in later] == [5.0, 10.0, 15.0]
    assert [round(b.slot - a.slot, 6) for a, b in zip([first, *later], later)] == [5.0, 5.0, 5.0]
    assert [p.wait_s for p in later] == sorted(p.wait_s for p in later) and later[0].wait_s > 4


def test_a_held_slot_is_kept_until_due_then_granted(limiter):
    budget(limiter, 42)
    held = budget(limiter, 42)
    early = budget(limiter, 42, held.slot)
    assert not early.granted and early.slot == held.slot  # asking again early keeps the place
    time.sleep(max(early.wait_s - 0.03, 0))
    due = budget(limiter, 42, held.slot)
    assert due.granted and due.wait_s <= LIMITS.max_inline_wait_s


def test_groups_are_spaced_by_the_group_limit_and_chats_do_not_block_each_other(limiter):
    first = budget(limiter, -4001)
    assert first.granted
    assert budget(limiter, -4001).starts_at - first.starts_at == pytest.approx(0.5, abs=1e-6)
    other = budget(limiter, 42)
    assert other.granted and other.wait_s <= LIMITS.bot_interval_s + 0.001  # only the bot spacing applies


def test_a_pause_holds_every_chat_and_overtaken_slots_are_renewed(state):
    limits = RateLimits(bot_interval_s=0.01, chat_interval_s=0.2, group_interval_s=0.5, max_inline_wait_s=0.05)
    limiter = RateLimiter(state.redis, "100000001", limits)
    budget(limiter, 42)
    held = budget(limiter, 42)
    assert limiter.pause(30.0) == pytest.approx(30.0)
    assert 29 < limiter.pause(0.2) <= 30.0  # a shorter pause never shortens a longer one
    waiting = [budget(limiter, chat) for chat in (7, -4001)]
    assert waiting[0].starts_at == waiting[1].starts_at  # both held to the pause's end, on Redis's clock
    assert all(not p.granted and 29 < p.wait_s <= 30 for p in waiting)
    renewed = budget(limiter, 42, held.slot)
    assert not renewed.granted and renewed.slot > held.slot + limits.chat_interval_s


def test_many_senders_at_once_never_start_closer_than_the_spacing(state):
    limiter = RateLimiter(state.redis, "100000001", RateLimits(0.001, 0.05, 0.2, 0.03))
    starts: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        slot = None
        for _ in range(5):
            while True:
                permit = budget(limiter, 42, slot)
                if permit.granted:
                    with lock:
                        starts.append(permit.starts_at)
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
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.05, gaps


def test_the_guard_answers_route_then_delivery_then_budget_and_only_a_grant_takes_the_lease(state, limiter):
    def guard(owner: str, part: str = "alert") -> Guard:
        return Guard("bot", part, owner, 5.0)

    first = limiter.acquire(guard("task-a"), 42)
    assert isinstance(first, Permit) and first.granted
    held = limiter.acquire(guard("task-b"), 42)
    assert isinstance(held, Refused) and held.reason is Refusal.DELIVERY and held.delivery is not None
    assert held.delivery.sending_owner == "task-a" and 4.0 < held.delivery.lease_left_s <= 5.0
    # The refused copy spent no slot: the next part to the chat waits one interval after the first, not two.
    waiting = limiter.acquire(guard("task-c", "alert/2.0"), 42)
    assert isinstance(waiting, Permit) and not waiting.granted
    assert waiting.starts_at - first.starts_at == pytest.approx(LIMITS.chat_interval_s, abs=1e-6)
    assert state.ledger.delivery_state("alert/2.0", 42).sending_owner is None  # no grant, no lease
    state.ledger.record_delivery("alert", 42, 9, 60, next_part=(2, 0))
    sent = limiter.acquire(guard("task-d"), 42)
    assert isinstance(sent, Refused) and sent.delivery is not None
    assert (sent.delivery.message_id, sent.delivery.next_part) == (9, (2, 0))

    state.chats.migrate_chat(-3001, -1004001)
    assert limiter.acquire(guard("task-a"), -3001) == Refused(Refusal.MIGRATED, migrated_to=-1004001)
    state.chats.disable_chat(43, "blocked")
    assert limiter.acquire(guard("task-a"), 43) == Refused(Refusal.DISABLED)
    state.chats.flag_token_invalid("bot", 60)  # checked first: even a sent part, even a migrated chat
    assert {limiter.acquire(guard("t"), chat) for chat in (42, -3001, 44)} == {Refused(Refusal.TOKEN_INVALID)}
    assert state.ledger.delivery_state("alert", 44).sending_owner is None
