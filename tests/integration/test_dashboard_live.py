"""The dashboard's live figures read from a real Redis: rates per channel summed over the listeners. The page's
clock is the test's, so a rate is an exact count over known seconds whatever the machine's load."""

import json
import time

from teleglas.dashboard.live import LiveStatus
from teleglas.settings import load_settings
from teleglas.state.keys import listener_status_key
from teleglas.state.system import SystemState


def write_listener(state, listener_id: str, events: int) -> None:
    state.liveness.write_listener_status(
        listener_id,
        {
            "is_connected": 1,
            "updated_at": time.time(),
            "last_pong_time": time.time(),
            "channel_events": json.dumps({"liquidationOrders": events, "other": 0}),
        },
        30,
    )


def test_events_per_channel_sum_the_listeners_and_one_leaving_is_no_burst(redis_server, state):
    start = time.time()
    clock = [start]
    live = LiveStatus(
        SystemState.of(state.redis),
        load_settings({"REDIS_URL": redis_server.redis_url}, env_file=None),
        clock=lambda: clock[0],
    )
    write_listener(state, "a", 100)
    write_listener(state, "b", 50)
    first = live.refresh()
    assert first["websocket"]["connected"] and [view["id"] for view in first["websocket"]["listeners"]] == ["a", "b"]
    assert first["events_per_s"] == {"liquidationOrders": 0.0}  # "other" never saw a frame: not listed
    clock[0] = start + 1.0
    write_listener(state, "a", 110)
    write_listener(state, "b", 60)
    assert live.refresh()["events_per_s"]["liquidationOrders"] == 20.0  # 10 + 10 events in 1 s
    state.redis.delete(listener_status_key("b"))  # listener b stopped; its status is gone
    clock[0] = start + 2.0
    write_listener(state, "a", 120)
    # a's 20 events over 2 s: b's 60 leaving is neither a burst nor negative
    assert live.refresh()["events_per_s"]["liquidationOrders"] == 10.0
