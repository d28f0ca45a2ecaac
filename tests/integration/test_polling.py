"""Celery beat and the CoinGlass REST API through real processes: the whale fallback, funding and
open-interest checks, two beats by mistake, and the start-up notice."""

import json
import re
import time

from teleglas.defines import TASK_CHECK_FUNDING, TASK_CHECK_OPEN_INTEREST, TASK_POLL_WHALES
from teleglas.devstack.emulators.coinglass_rest import DEFAULT_REST_DATA
from teleglas.devstack.local_stack import wait_until
from tests.support.messages import alerted
from tests.support.state import State

NO_WS_KEY = {"COINGLASS_API_KEY_WS": ""}
ONLINE_POLLING = "✅ TELEGLAS online · polling fallback"
ONLINE_WS = "✅ TELEGLAS online · WebSocket stream"


def rest_requests(stack, path="/api/hyperliquid/whale-alert") -> int:
    return sum(1 for p in stack.coinglass_status()["rest_requests"] if p == path)


def task_runs(stack, task: str) -> int:
    """How many times the worker finished `task` (Celery's own "succeeded" line)."""
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", stack.processes["worker"].log_text()))


def poll_whales(stack) -> None:
    stack.celery_app().send_task(TASK_POLL_WHALES, queue="events")


def test_without_a_ws_key_whale_alerts_come_from_rest_once(make_stack):
    stack = make_stack(chat_ids=("42",), settings_env=NO_WS_KEY)
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    poll_whales(stack)
    wait_until(lambda: rest_requests(stack) == 1, 20, 0.1, what="the whale poll")
    messages = stack.wait_for_idle(settle_s=3)
    # BTC $12.4M long and ETH $5.2M short qualify; SOL $298k is under the majors' $1M; a day-old BTC record is ignored.
    assert sorted(alerted(messages)) == ["BTC", "ETH"]
    first = messages[0]["text"]
    assert first.startswith(
        "🐋 WHALE POSITION ALERT\n📍 Exchange: Hyperliquid\n📊 Symbol: BTC\n💰 Entry: $96,850.50\n"
        "📈 Side: LONG (opened)"
    )
    assert "👤 Trader: 0x3f2a…8192" in first and "🎯 Confidence: " in first

    poll_whales(stack)  # the same records again, as a later poll or a second beat sees them
    worker_log = stack.processes["worker"].log_text
    wait_until(
        lambda: worker_log().count("whale fallback poll (no COINGLASS_API_KEY_WS)") == 2,
        20,
        0.1,
        what="the second poll",
    )
    assert "whale fallback poll (no COINGLASS_API_KEY_WS): 0 alert(s)" in worker_log()
    assert rest_requests(stack) == 1  # served from the shared cache
    assert stack.wait_for_idle(settle_s=3) == messages


def test_fallback_idles_while_a_listener_streams_and_resumes_when_its_status_goes_stale(make_stack):
    stack = make_stack(chat_ids=("42",))
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker(loglevel="DEBUG")
    state = State.of(stack.redis())
    state.liveness.write_listener_status("host-1", {"is_connected": 1, "updated_at": time.time()}, ttl_s=60)
    poll_whales(stack)
    wait_until(
        lambda: "whale fallback idle: a listener is streaming" in stack.processes["worker"].log_text(),
        20,
        0.1,
        what="the idle poll",
    )
    assert rest_requests(stack) == 0 and stack.wait_for_idle() == []

    state.liveness.write_listener_status(
        "host-1", {"is_connected": 1, "updated_at": time.time() - 120}, ttl_s=60
    )  # stopped updating
    poll_whales(stack)
    wait_until(lambda: rest_requests(stack) == 1, 20, 0.1, what="the fallback to resume")
    assert sorted(alerted(stack.wait_for_idle(settle_s=3))) == ["BTC", "ETH"]
    assert (
        "whale fallback poll (no listener connected in the last LISTENER_STALE_AFTER s): 2 alert(s)"
        in stack.processes["worker"].log_text()
    )


def test_two_beats_run_every_check_and_alert_once(make_stack, tmp_path):
    data = json.loads(DEFAULT_REST_DATA.read_text())
    for record in data["/api/hyperliquid/whale-alert"]:  # fixed times, so rewriting the file keeps the same records
        record["create_time"] = int((time.time() - record.pop("create_time_age_s")) * 1000)
    rest_data = tmp_path / "rest.json"
    rest_data.write_text(json.dumps(data))
    intervals = {
        "WHALE_POLL_INTERVAL": "1",
        "FUNDING_CHECK_INTERVAL": "1",
        "OI_CHECK_INTERVAL": "1",
        "OI_SYMBOLS": "BTC,ETH",
        "OI_WINDOW": "60",
        "COINGLASS_REQUESTS_PER_MINUTE": "1000",
    }
    stack = make_stack(chat_ids=("42",), settings_env={**NO_WS_KEY, **intervals})
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator(rest_data=rest_data)
    stack.start_worker()
    stack.start_beat("beat-a")
    stack.start_beat("beat-b")  # by mistake
    wait_until(
        lambda: rest_requests(stack, "/api/futures/open-interest/exchange-list") >= 4, 30, 0.2, what="the checks to run"
    )

    data["/api/futures/open-interest/exchange-list"]["BTC"][0]["open_interest_usd"] *= 1.08  # an 8 % jump
    rest_data.write_text(json.dumps(data))
    wait_until(
        lambda: "+8.00%" in "\n".join(m["text"] for m in stack.telegram_messages()), 30, 0.2, what="the OI alert"
    )
    checks = (TASK_POLL_WHALES, TASK_CHECK_FUNDING, TASK_CHECK_OPEN_INTEREST)
    before = {task: task_runs(stack, task) for task in checks}
    wait_until(  # more rounds of every check, from both beats
        lambda: all(task_runs(stack, task) >= before[task] + 4 for task in checks), 60, 0.2, what="4 more rounds"
    )
    assert stack.processes["beat-a"].running and stack.processes["beat-b"].running
    stack.processes["beat-a"].stop()
    stack.processes["beat-b"].stop()
    text = "\n".join(m["text"] for m in stack.wait_for_idle(settle_s=3))
    # Each alert once, however many rounds and beats: the two extreme funding rates (BTC on Bybit, DOGE on
    # Binance; OKX's -0.005 % is under the threshold), the OI jump, the two whales, one start-up notice.
    assert text.count("+0.1520%") == 1 and text.count("-0.2310%") == 1 and "OKX" not in text
    assert text.count("+8.00%") == 1
    assert text.count("12,435,604") == 1 and text.count("5,186,620") == 1
    assert text.count(ONLINE_POLLING) == 1


def test_startup_notice_in_websocket_mode_is_sent_once(make_stack, tmp_path):
    from tests.support.messages import write_scenario

    stack = make_stack(chat_ids=("42",), scenario=write_scenario(tmp_path / "quiet.jsonl", [{"pause": 0.1}]))
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker("worker-a")
    stack.start_worker("worker-b")
    stack.start_beat()  # with a WebSocket key, beat leaves the notice to the listener
    stack.start_listener()
    wait_until(lambda: stack.telegram_messages(), 30, 0.1, what="the start-up notice")
    beat_ready = "beat started: the listener announces the stream"
    wait_until(lambda: beat_ready in stack.processes["beat"].log_text(), 30, 0.1, what="beat past its start")
    (notice,) = stack.wait_for_idle(settle_s=1)
    assert notice["text"] == f"{ONLINE_WS}\nChannels: liquidationOrders, futures_trades@Binance_BTCUSDT@10000"
