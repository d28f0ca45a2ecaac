"""The listener process as users run it: SIGTERM mid-stream, Redis outages, two listeners, status in Redis."""

import re
import signal
import time

from teleglas.devstack.local_stack import wait_until
from tests.support.messages import LIQ_ITEM, alerted, write_scenario
from tests.support.state import State

LIQ = {**LIQ_ITEM, "volUsd": 1_000}


def numbered_frames(count, per_frame=1, pause_s=0.0):
    steps, n = [], 0
    for _ in range(count):
        steps.append(
            {
                "frame": {
                    "channel": "liquidationOrders",
                    "data": [{**LIQ, "time": LIQ["time"] + n + i} for i in range(per_frame)],
                }
            }
        )
        n += per_frame
        if pause_s:
            steps.append({"pause": pause_s})
    return steps


def stopped_counters(log_text):
    match = re.search(r"listener stopped: frames=(\d+) events=(\d+) published=(\d+) .* dropped=(\d+)", log_text)
    assert match, log_text[-3000:]
    return tuple(int(x) for x in match.groups())


def test_sigterm_mid_stream_exits_zero_with_every_parsed_event_in_the_broker(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "s.jsonl", numbered_frames(400, per_frame=10, pause_s=0.01)))
    stack.start_redis()
    stack.start_coinglass_emulator()
    listener = stack.start_listener()
    wait_until(lambda: len(stack.queued_events()) > 200, 30, what="events flowing")
    started = time.monotonic()
    listener.signal(signal.SIGTERM)
    assert listener.process.wait(15) == 0
    assert time.monotonic() - started < 15
    _frames, events, published, dropped = stopped_counters(listener.log_text())
    assert 0 < events < 4000 and published == events and dropped == 0
    queued = stack.queued_events()
    assert [e["time_ms"] for e in queued] == [LIQ["time"] + i for i in range(events)]


def test_redis_outage_within_the_buffer_bound_loses_nothing_and_keeps_order(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "s.jsonl", numbered_frames(60, pause_s=0.1)))
    stack.start_redis(appendonly=True)
    stack.start_coinglass_emulator()
    listener = stack.start_listener()
    wait_until(lambda: len(stack.queued_events()) >= 10, 30, what="events flowing")
    stack.processes["redis"].stop()
    # Past Celery's own publish retries (about 2 s): the listener's buffer has taken over.
    wait_until(lambda: "cannot publish to the broker" in listener.log_text(), 30, what="the buffer to take over")
    assert listener.running
    stack.start_redis(appendonly=True)
    stack.wait_for_replay()
    wait_until(
        lambda: len({e["time_ms"] for e in stack.queued_events()}) == 60, 60, what="all 60 events after the outage"
    )
    listener.signal(signal.SIGTERM)
    assert listener.process.wait(15) == 0
    times = [e["time_ms"] for e in stack.queued_events()]
    assert list(dict.fromkeys(times)) == [LIQ["time"] + i for i in range(60)]  # every event, in order
    # Publishing is at-least-once: the event being sent when Redis went away may have reached it before the
    # connection broke, and is sent again; the worker's fingerprint claim makes that copy harmless.
    assert len(times) - 60 <= 1
    assert "cannot publish to the broker" in listener.log_text()
    assert stopped_counters(listener.log_text())[3] == 0


def test_redis_outage_beyond_the_bound_drops_the_oldest_and_counts_them(make_stack, tmp_path):
    stack = make_stack(
        scenario=write_scenario(tmp_path / "s.jsonl", numbered_frames(60, pause_s=0.1)),
        settings_env={"LISTENER_BUFFER_MAX_EVENTS": "5"},
    )
    stack.start_redis(appendonly=True)
    stack.start_coinglass_emulator()
    listener = stack.start_listener()
    wait_until(lambda: len(stack.queued_events()) >= 10, 30, what="events flowing")
    stack.processes["redis"].stop()
    wait_until(lambda: "publish buffer full" in listener.log_text(), 30, what="the buffer to overflow")
    stack.start_redis(appendonly=True)
    stack.wait_for_replay()
    liveness = State.of(stack.redis()).liveness
    wait_until(  # every event of the scenario read, and the buffer emptied into the broker
        lambda: (
            [(s.get("events"), s.get("buffered_events")) for s in liveness.listener_statuses().values()]
            == [("60", "0")]
        ),
        30,
        what="the buffer to drain",
    )
    listener.signal(signal.SIGTERM)
    assert listener.process.wait(15) == 0
    _frames, events, _published, dropped = stopped_counters(listener.log_text())
    times = [e["time_ms"] - LIQ["time"] for e in stack.queued_events()]
    assert events == 60 and dropped > 0
    # At least once, as above: the batch being published when Redis went away may have reached it and be sent
    # again; the workers' fingerprint claims make such a copy harmless.
    assert times == sorted(times) and len(times) - len(set(times)) <= 1
    assert len(set(times)) + dropped == 60  # every event is either in the broker or counted as dropped
    missing = sorted(set(range(60)) - set(times))
    # The oldest buffered events go first; the batch in the publisher's hands at that moment (the events that
    # were buffered when it tried to publish) is never dropped, so the lost events form one run with at most
    # that one batch of survivors inside it.
    survivors = sorted(set(range(missing[0], missing[-1] + 1)) - set(missing))
    assert survivors == list(range(survivors[0], survivors[0] + len(survivors))) if survivors else True, (
        f"{missing} {times}"
    )


def test_two_listeners_on_one_stream_alert_once_each_and_report_status(make_stack):
    stack = make_stack(
        channels=("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000", "futures_trades@Binance_ETHUSDT@10000")
    )
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator(min_subscribers=2)
    stack.start_worker()
    stack.start_listener("listener-a")
    stack.start_listener("listener-b")
    wait_until(lambda: len(State.of(stack.redis()).liveness.listener_statuses()) == 2, 30, what="two listener statuses")
    stack.wait_for_replay()
    messages = stack.wait_for_idle()
    # One alert, then a digest of the rest (the chat is a group): each of the 4 qualifying events once.
    assert sorted(alerted(messages)) == ["BTCUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT"]
    statuses = State.of(stack.redis()).liveness.listener_statuses()
    assert len(statuses) == 2
    for status in statuses.values():
        assert status["is_connected"] == "1" and int(status["events"]) == 8 and int(status["bad_frames"]) == 1
        assert time.time() - float(status["updated_at"]) < 3 and float(status["last_pong_time"]) > 0
    assert all(0 < stack.redis().ttl(key) <= 5 for key in stack.redis().scan_iter("teleglas:listener:*"))


def test_second_signal_exits_at_once(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "s.jsonl", numbered_frames(20)))
    stack.start_coinglass_emulator()  # no Redis: the buffered events cannot be flushed, so the first stop waits
    listener = stack.start_listener()
    stack.wait_for_replay()
    wait_until(lambda: "cannot publish to the broker" in listener.log_text(), 30, what="the publisher to give up once")
    listener.signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM received: closing the stream" in listener.log_text(), 10, what="the first signal")
    assert listener.running  # still trying to publish its buffer (for up to 4 s)
    second = time.monotonic()
    listener.signal(signal.SIGTERM)
    assert listener.process.wait(5) == 1
    assert time.monotonic() - second < 2
    assert "second signal: exiting now" in listener.log_text()
