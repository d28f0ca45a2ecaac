"""The listener's /health through real processes: 200 when alerts can flow, 503 with the reason when the
WebSocket is down, when no worker beats, when Redis is down; never a secret in it."""
import json
import re
import urllib.error
import urllib.request

from teleglas.local_stack import DEMO_ALERT_TOKEN, DEMO_REST_KEY, DEMO_WS_KEY, free_port, wait_until
from tests.integration.conftest import write_scenario

FAST = {"WORKER_HEARTBEAT_INTERVAL": "0.5", "WORKER_HEARTBEAT_STALE": "2"}


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_health_reports_why_alerts_cannot_flow(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "quiet.jsonl", [{"pause": 0.1}]), settings_env=FAST)
    port = free_port()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    wait_until(lambda: _status(port) == 200, 30, 0.2, what="a healthy report")
    status, report = health(port)
    assert report["status"] == "ok" and report["reasons"] == [] and report["mode"] == "websocket"
    assert report["is_connected"] and report["workers"] == 1 and report["worker_heartbeat_age_s"] < 2
    assert set(report["queues"]) == {"events", "telegram"} and report["dead_letters"] == 0 and report["last_pong_time"] > 0
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
