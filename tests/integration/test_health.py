"""The listener's /health and /metrics through real processes: 200 when alerts can flow, 503 with the reason
when the WebSocket is down, when no worker beats, when Redis is down, in polling mode when beat does not poll;
never a secret in it. Metrics parse with prometheus-client's parser and move when events flow."""

import json
import re
import time
import urllib.error
import urllib.request

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from teleglas.dashboard.live import LiveStatus
from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_REST_KEY, DEMO_WS_KEY, free_port, wait_until
from teleglas.model.events import LiquidationOrder
from teleglas.ops.metrics import ALERTS, MESSAGES_SENT, Recorder, RedisMetricsCollector
from teleglas.state.buffer import RedisBuffer
from teleglas.state.system import SystemState
from tests.support.messages import health, write_scenario
from tests.support.settings import make_settings
from tests.support.state import State

FAST = {"WORKER_HEARTBEAT_INTERVAL": "0.5", "WORKER_HEARTBEAT_STALE": "2"}


def test_health_reports_why_alerts_cannot_flow(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "quiet.jsonl", [{"pause": 0.1}]), settings_env=FAST)
    port = free_port()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="a healthy report")
    _, report = health(port)
    assert report["status"] == "ok" and report["reasons"] == [] and report["mode"] == "websocket"
    assert report["is_connected"] and report["workers"] == 1 and report["worker_heartbeat_age_s"] < 2
    assert (
        set(report["queues"]) == {"events", "telegram"} and report["dead_letters"] == 0 and report["last_pong_time"] > 0
    )
    raw = json.dumps(report)
    assert DEMO_WS_KEY not in raw and DEMO_ALERT_TOKEN not in raw and DEMO_REST_KEY not in raw

    stack.processes["worker"].stop()
    wait_until(lambda: _status(port) == 503, 15, 0.2, what="the missing worker to show")
    (reason,) = health(port)[1]["reasons"]
    assert re.fullmatch(r"no worker heartbeat|worker heartbeat \d+ s old", reason), reason
    stack.start_worker()
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="the worker to be back")

    stack.processes["coinglass-emulator"].stop()
    wait_until(lambda: _status(port) == 503, 15, 0.2, what="the disconnect to show")
    assert health(port)[1]["reasons"] == ["websocket disconnected"]

    stack.processes["redis"].stop()
    wait_until(lambda: "redis unreachable" in health(port)[1]["reasons"], 15, 0.2, what="Redis down to show")
    assert health(port)[0] == 503


def _status(port: int) -> int | None:
    try:
        return health(port)[0]
    except OSError:
        return None


def metrics(port: int) -> dict[tuple[str, tuple], float]:
    """GET /metrics parsed with prometheus-client's own parser: {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict, name: str, **labels) -> float:
    return sum(
        v for (n, found), v in samples.items() if n == name and all(dict(found).get(k) == w for k, w in labels.items())
    )


def test_metrics_parse_and_move_when_events_flow(make_stack):
    stack = make_stack(settings_env=FAST)
    port = free_port()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    stack.wait_for_replay()
    messages = stack.wait_for_idle(settle_s=2.5)  # two metric flush intervals after the last send
    samples = metrics(port)
    assert total(samples, "teleglas_ws_connected") == 1 and total(samples, "teleglas_ws_connection_uptime_seconds") > 0
    frames = total(samples, "teleglas_ws_frames_total", channel="liquidationOrders")
    events = total(samples, "teleglas_ws_events_total")
    assert frames > 0 and events >= frames
    # The scenario's one duplicate is dropped before anything counts it: every other event is evaluated once.
    assert total(samples, "teleglas_events_duplicate_total", source="coinglass") == 1
    assert (
        total(samples, "teleglas_events_evaluated_total") + 1
        == events
        == total(samples, "teleglas_listener_published_events_total")
    )
    assert total(samples, "teleglas_messages_sent_total") == len(messages) > 0
    # Measured for alerts sent on their own; a start-up notice or a digest has no single frame behind it.
    direct = [m for m in messages if not m["text"].startswith(("✅ TELEGLAS online", "🧾 DIGEST"))]
    assert total(samples, "teleglas_frame_to_send_seconds_count") == len(direct) > 0
    assert total(samples, "teleglas_alerts_total", kind="liquidation") >= 1
    assert not [name for name, labels in samples if "chat" in dict(labels)]  # no subscriber's id by default
    assert total(samples, "teleglas_event_to_decision_seconds_count") == events - 1
    assert total(samples, "teleglas_queue_depth", queue="events") == 0 and total(samples, "teleglas_workers") == 1
    assert total(samples, "teleglas_redis_up") == 1 and total(samples, "teleglas_telegram_errors_total") == 0

    stack.add_telegram_fault(status=500, description="Internal Server Error", count=1)
    stack.enqueue_send(stack.chat_ids[0], "one more", "metrics-test-alert")
    stack.wait_for_idle(settle_s=2.5)
    after = metrics(port)
    assert total(after, "teleglas_telegram_errors_total", reason="server_error", code="500") == 1
    assert total(after, "teleglas_messages_sent_total") == total(samples, "teleglas_messages_sent_total") + 1


def test_polling_mode_health_waits_for_beat(make_stack):
    stack = make_stack(settings_env={**FAST, "COINGLASS_API_KEY_WS": "", "WHALE_POLL_INTERVAL": "1"})
    port = free_port()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    listener = stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    wait_until(lambda: _status(port) is not None, 15, 0.2, what="the health endpoint")
    status, report = health(port)
    assert (
        status == 503
        and report["mode"] == "polling"
        and report["reasons"] == ["no whale poll yet (is celery beat running?)"]
    )
    assert "whale alerts come from celery beat's REST polling fallback" in listener.log_text()
    stack.start_beat()
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="beat's first whale poll")
    report = health(port)[1]
    assert report["mode"] == "polling" and report["last_whale_poll_age_s"] < 5 and "is_connected" in report
    assert total(metrics(port), "teleglas_redis_up") == 1


def test_a_chat_that_refuses_the_bot_is_visible_until_the_bot_is_back(make_stack, tmp_path):
    """403 → disabled, its alerts in the dead letters; /health says why (503), /metrics counts it, the dashboard
    lists it; the periodic re-check finds the bot re-added and alerts flow to the chat again."""
    refusing, fine = -1007601, -1007602
    stack = make_stack(
        scenario=write_scenario(tmp_path / "quiet.jsonl", [{"pause": 0.1}]),
        chat_ids=(str(refusing), str(fine)),
        settings_env={**FAST, "CHAT_RECHECK_INTERVAL": "2"},
    )
    port = free_port()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="a healthy report")
    wait_until(
        lambda: {m["chat_id"] for m in stack.telegram_messages()} == {refusing, fine},
        30,
        0.1,
        what="the listener's start-up notice in both chats (before the chat refuses the bot)",
    )
    stack.set_telegram_chats(blocked=[refusing])
    stack.enqueue_events([_liquidation("BTCUSDT", 0)])
    wait_until(lambda: _status(port) == 503, 20, 0.2, what="the refusing chat to show")
    report = health(port)[1]
    assert report["reasons"] == [
        f"alert chat {refusing} refuses the bot (Forbidden: bot was kicked from the supergroup chat): "
        "its alerts go to the dead letters"
    ]
    assert [(c["chat_id"], c["configured"]) for c in report["disabled_chats"]] == [(refusing, True)]
    assert metrics(port)[("teleglas_disabled_chats", (("configured", "true"),))] == 1
    snapshot = LiveStatus(
        SystemState.of(stack.redis()), make_settings(TELEGRAM_ALERT_CHAT_IDS=f"{refusing},{fine}")
    ).refresh()
    assert [c["chat_id"] for c in snapshot["disabled_chats"]] == [refusing]  # what the dashboard shows
    stack.enqueue_events([_liquidation("ETHUSDT", 1)])  # missed while disabled: kept, not dropped
    wait_until(
        lambda: len(State.of(stack.redis()).dead_letters.dead_letters()) == 2,
        20,
        0.2,
        what="both missed alerts in the dead letters",
    )
    assert {e["reason"] for _, e in State.of(stack.redis()).dead_letters.dead_letters()} == {
        "forbidden",
        "chat_disabled",
    }

    stack.set_telegram_chats(unblocked=[refusing])  # the bot is re-added
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="the re-check to heal the chat")
    assert "chat=-1007601 takes the bot again" in stack.processes["worker"].log_text()
    stack.enqueue_events([_liquidation("SOLUSDT", 2)])
    wait_until(
        lambda: any(m["chat_id"] == refusing for m in stack.telegram_messages()),
        20,
        0.2,
        what="alerts to flow to the chat again",
    )


def _liquidation(symbol: str, n: int) -> dict:
    return LiquidationOrder(
        "Binance", symbol, symbol.removesuffix("USDT"), 100.0, 1, 5_000_000.0, int(time.time() * 1000) + n
    ).to_payload()


def test_metrics_carry_chat_ids_only_when_the_operator_opts_in(state):
    """Private chats' ids are Telegram user ids: /metrics (no auth) sums them away unless METRICS_CHAT_LABELS."""
    buffer = RedisBuffer(lambda: state.redis)
    recorder = Recorder(buffer, 3600)
    for chat in (111111111, 222222222, -1001000000001):
        recorder.inc(ALERTS, "liquidation", chat)
        recorder.inc(MESSAGES_SENT, chat, amount=2)
    buffer.flush(state.redis)

    def exported(chat_labels: bool) -> dict:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RedisMetricsCollector(SystemState.of(state.redis), chat_labels=chat_labels))
        text = generate_latest(registry).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    quiet = exported(False)
    assert quiet[("teleglas_alerts_total", (("kind", "liquidation"),))] == 3
    assert quiet[("teleglas_messages_sent_total", ())] == 6
    assert not [name for name, labels in quiet if "chat" in dict(labels)]
    labelled = exported(True)
    assert labelled[("teleglas_alerts_total", (("chat", "111111111"), ("kind", "liquidation")))] == 1
    assert total(labelled, "teleglas_messages_sent_total", chat="-1001000000001") == 2
