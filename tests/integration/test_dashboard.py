"""The dashboard end to end: the demo scenario through the real pipeline (emulators, listener, worker, Redis),
`python -m teleglas.dashboard`, and the page in Debian's headless Chromium, checked against what Redis holds."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from teleglas.dashboard.analytics import MOVE_WINDOWS_MIN
from teleglas.dashboard.price_moves import PriceMoveTracker
from teleglas.devstack.demo import DEMO_CHANNELS
from teleglas.devstack.emulators import price_path
from teleglas.devstack.emulators.coinglass_rest import DEFAULT_REST_DATA
from teleglas.devstack.local_stack import DEMO_REST_KEY, LocalStack, free_port, wait_until
from teleglas.model.alerts import Alert
from teleglas.ops.metrics import EVENTS_EVALUATED, MESSAGES_SENT, parse_fields
from teleglas.source.coinglass.rest import CoinGlassRest
from teleglas.state.budgets import RestBudget, RestCache
from teleglas.state.history import AlertHistory, AlertRecord, DigestRecord, parse_entry
from teleglas.state.keys import history_alerts_key, history_sent_key, metric_key
from teleglas.state.tape import parse_liquidation_bucket
from tests.support.browser import Browser, chromium_missing
from tests.support.state import State

pytestmark = pytest.mark.integration

USER, PASSWORD = "ops", "dashboard-test-password"
HOSTILE = "<img src=x onerror=alert(1)>USDT"
ALERT_ROW_SYMBOLS = (
    "return [...document.querySelectorAll('#alerts-body tr')].map(tr => "
    "tr.querySelector('.symbol')).filter(Boolean).map(c => c.textContent)"
)


def metric_total(client, metric) -> int:
    return int(sum(parse_fields(client.hgetall(metric_key(metric.name))).values()))


def api(port: int, path: str, auth: tuple[str, str] | None = (USER, PASSWORD)) -> tuple[int, dict, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def liquidation(symbol: str, usd: float, price: float = 1.0, side: int = 1) -> dict:
    return {
        "kind": "liquidation",
        "exchange": "Binance",
        "symbol": symbol,
        "base_asset": "",
        "price": price,
        "side": side,
        "usd": usd,
        "time_ms": int(time.time() * 1000),
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)  # the set-up installs it; a missing browser is a broken set-up, not a skip
    workdir = tmp_path_factory.mktemp("dashboard")
    stack = LocalStack(
        workdir / "stack",
        scenario="demo.jsonl",
        channels=DEMO_CHANNELS,
        settings_env={"DASHBOARD_USER": USER, "DASHBOARD_PASSWORD": PASSWORD},
    )
    port = free_port()
    browser = None
    try:
        stack.start_redis()
        stack.start_telegram_emulator()
        stack.start_coinglass_emulator(live_times=True)
        stack.start_worker()
        stack.start_dashboard(port)
        stack.start_listener()
        stack.wait_for_replay()
        messages = stack.wait_for_idle()
        browser = Browser(workdir / "chromium", USER, PASSWORD)
        browser.open(f"http://127.0.0.1:{port}/")
        yield SimpleNamespace(stack=stack, port=port, browser=browser, messages=messages, redis=stack.redis())
    finally:
        if browser is not None:
            browser.close()
        stack.stop()


def newest_sent_symbols(client) -> list[str]:
    """What the newest message Telegram accepted was about, from the history in Redis."""
    ((_, raw),) = client.xrevrange(history_sent_key(), count=1)
    sent = parse_entry(raw)
    records = [parse_entry(r) for _, r in client.xrange(history_alerts_key())]
    alerts = {r.alert_id: r for r in records if isinstance(r, AlertRecord)}
    digests = {r.digest_id: r for r in records if isinstance(r, DigestRecord)}
    covered = digests[sent.alert_id].covers if sent.alert_id in digests else (sent.alert_id,)
    return list(dict.fromkeys(alerts[a].symbol for a in covered))


def test_page_shows_live_pipeline_figures_as_redis_holds_them(live, tmp_path):
    client, browser = live.redis, live.browser
    # The workers flush their counts once a second: wait until Redis has them all.
    wait_until(lambda: metric_total(client, MESSAGES_SENT) == len(live.messages), 10, what="the sent count in Redis")
    sent, evaluated = metric_total(client, MESSAGES_SENT), metric_total(client, EVENTS_EVALUATED)
    assert sent == len(live.messages) == client.xlen(history_sent_key()) >= 3
    assert evaluated >= 7  # every event of the demo scenario the parser accepted, its duplicate once
    browser.wait_for(
        lambda: browser.text("#messages-sent") == str(sent) and browser.text("#events-evaluated") == str(evaluated),
        what="the counts",
    )

    statuses = State.of(client).liveness.listener_statuses()
    assert [s["is_connected"] for s in statuses.values()] == ["1"]
    assert browser.text("#ws-status") == "WebSocket connected"
    assert browser.js("return document.getElementById('ws-status').dataset.state") == "ok"
    assert browser.text("#workers-count") == "1"

    rows = browser.js(ALERT_ROW_SYMBOLS)
    assert len(rows) == sent
    assert rows[0] == ", ".join(newest_sent_symbols(client))

    browser.wait_for(
        lambda: browser.js("return document.querySelectorAll('#liq-bars .hbar').length") > 0,
        what="the liquidation bars",
    )
    shown = set(browser.js("return [...document.querySelectorAll('#liq-bars .hbar .label')].map(e => e.textContent)"))
    in_redis = {
        cell.symbol
        for key in client.keys("teleglas:tape:liquidations:*")
        for cell in parse_liquidation_bucket(client.hgetall(key))
    }
    assert shown == in_redis and "BTCUSDT" in shown
    assert browser.js("return document.querySelectorAll('#timeline svg rect').length") > 0
    biggest = browser.js("return document.querySelector('#orders-body tr').dataset.symbol")
    assert biggest == "BTCUSDT"  # the demo's $2.5M whale buy

    path = browser.screenshot(tmp_path / "dashboard.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    print(f"dashboard screenshot: {path}")

    # Live: a new alert reaches the page without a reload.
    live.stack.enqueue_events([liquidation("LIVEUSDT", 2_000_000)])
    browser.wait_for(
        lambda: "LIVEUSDT" in (browser.js(ALERT_ROW_SYMBOLS) or [""])[0], 30, what="the new alert on the page"
    )
    wait_until(lambda: metric_total(client, MESSAGES_SENT) == sent + 1, 10, what="the new send in Redis")
    browser.wait_for(lambda: browser.text("#messages-sent") == str(sent + 1), what="the new count")


def test_hostile_symbol_is_shown_as_text_never_run(live):
    browser = live.browser
    live.stack.enqueue_events([liquidation(HOSTILE, 3_000_000, price=0.5)])
    browser.wait_for(
        lambda: any(HOSTILE in s for s in browser.js(ALERT_ROW_SYMBOLS)), 30, what="the hostile alert on the page"
    )
    browser.wait_for(
        lambda: (
            HOSTILE in browser.js("return [...document.querySelectorAll('#liq-bars .label')].map(e => e.textContent)")
        ),
        what="the hostile symbol in the market view",
    )
    assert browser.js("return document.querySelectorAll('img').length") == 0
    assert browser.js("return document.querySelectorAll('[onerror]').length") == 0
    assert browser.dialogs() == []
    row = browser.js(
        "return [...document.querySelectorAll('#alerts-body tr')].find(tr => "
        "tr.textContent.includes(arguments[0])).innerHTML",
        HOSTILE,
    )
    assert "&lt;img src=x onerror=alert(1)&gt;USDT" in row and "<img" not in row
    message = browser.js(
        "return [...document.querySelectorAll('#alerts-body td.message')].map(e => e.textContent).find(t => "
        "t.includes(arguments[0]))",
        HOSTILE,
    )
    assert f"Symbol: {HOSTILE}" in message  # the Telegram HTML text, entities decoded to text
    _, _, alerts = api(live.port, "/api/alerts")
    assert any(a["symbol"] == HOSTILE for a in alerts["alerts"])  # the API carries it as data, unchanged


def test_price_moves_reach_the_analytics_and_the_page(live):
    client, browser = live.redis, live.browser
    history = AlertHistory(client, ttl_s=86_400, max_entries=10_000)
    now = time.time()
    event_ms = int((now - 70 * 60) * 1000)
    alert = Alert(
        "moves-test",
        "liquidation",
        "single",
        "SOLUSDT",
        "SOL",
        1_500_000.0,
        "text",
        "line",
        ("moves-test",),
        side="LONG",
        exchange="Bybit",
        price=180.0,
        event_ms=event_ms,
    )
    hostile = Alert(
        "moves-hostile",
        "liquidation",
        "single",
        HOSTILE,
        "",
        9e6,
        "text",
        "line",
        ("moves-hostile",),
        side="SHORT",
        exchange="OKX",
        price=1.0,
        event_ms=event_ms,
    )
    history.record_alerts([alert, hostile], now)
    rest = CoinGlassRest(
        f"http://127.0.0.1:{live.stack.coinglass_port}", DEMO_REST_KEY, RestBudget(client), RestCache(client), 30
    )
    tracker = PriceMoveTracker(rest, history, "Binance")
    assert tracker.run(time.time()) == 1  # the hostile symbol names no pair: never asked for
    assert tracker.run(time.time()) == 0  # every window measured: nothing asked again
    assert history.price_moves(["moves-hostile"]) == {}

    spec = json.loads(DEFAULT_REST_DATA.read_text())["/api/futures/price/history"]["SOLUSDT"]
    moves = history.price_moves(["moves-test"])["moves-test"]
    assert set(moves) == set(MOVE_WINDOWS_MIN)
    for minutes, move in moves.items():
        opened_minute = (event_ms + minutes * 60_000) // 60_000
        close = float(f"{price_path.price_at(spec, opened_minute + 1):.8g}")
        assert move.price == close and move.pct == pytest.approx((close - 180.0) / 180.0 * 100)

    def listed():
        _, _, report = api(live.port, "/api/analytics")
        return next((a for a in report.get("price_moves", {}).get("alerts", []) if a["alert_id"] == "moves-test"), None)

    wait_until(lambda: listed() is not None, 15, 0.2, what="the alert in /api/analytics")
    assert listed()["moves"] == {str(m): round(moves[m].pct, 4) for m in MOVE_WINDOWS_MIN}

    def cells():
        return browser.js(
            "const tr = [...document.querySelectorAll('#moves-body tr')].find(t => t.dataset.symbol === 'SOLUSDT');"
            "return tr ? [...tr.querySelectorAll('td')].slice(5).map(td => td.textContent) : null"
        )

    browser.wait_for(lambda: cells() is not None, what="the moves row")
    assert [c.split("%")[0] for c in cells()] == [f"{moves[m].pct:+.2f}".replace("+-", "-") for m in MOVE_WINDOWS_MIN]


def test_api_needs_the_monitor_credentials_and_sends_a_strict_policy(live):
    status, headers, body = api(live.port, "/api/status", auth=None)
    assert (
        status == 401
        and headers["WWW-Authenticate"].startswith("Basic ")
        and body == {"error": "authentication required"}
    )
    assert api(live.port, "/api/status", auth=(USER, "wrong"))[0] == 401
    assert api(live.port, "/healthz", auth=None)[:3:2] == (200, {"status": "ok"})
    status, headers, report = api(live.port, "/api/status")
    assert status == 200 and report["redis_reachable"] is True and report["queues"] == {"events": 0, "telegram": 0}
    assert (
        "script-src 'self'" in headers["Content-Security-Policy"]
        and "unsafe-inline" not in headers["Content-Security-Policy"]
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert api(live.port, "/api/nothing")[0] == 404


def test_dashboard_refuses_to_start_without_credentials(make_stack):
    stack = make_stack()
    proc = stack.start_command("dashboard", ["-m", "teleglas.dashboard"], {"DASHBOARD_PORT": str(free_port())})
    wait_until(lambda: not proc.running, 20, what="the dashboard to exit")
    assert proc.process.returncode == 2
    assert "needs DASHBOARD_USER and DASHBOARD_PASSWORD" in proc.log_text()


def test_beat_measures_price_moves_through_the_real_task(make_stack):
    stack = make_stack(settings_env={"PRICE_MOVE_INTERVAL": "1"})
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_worker()
    history = AlertHistory(stack.redis(), ttl_s=86_400, max_entries=10_000)
    now = time.time()
    event_ms = int((now - 20 * 60) * 1000)  # 5 and 15 min are due, 60 is not yet
    history.record_alerts(
        [
            Alert(
                "beat-moves",
                "trade",
                "single",
                "ETHUSDT",
                "ETH",
                2e6,
                "t",
                "l",
                ("beat-moves",),
                side="BUY",
                exchange="Binance",
                price=3400.0,
                event_ms=event_ms,
            )
        ],
        now,
    )
    stack.start_beat()
    wait_until(lambda: history.price_moves(["beat-moves"]), 60, 0.2, what="beat's price moves")
    assert set(history.price_moves(["beat-moves"])["beat-moves"]) == {5, 15}
    assert "price moves measured for 1 alert(s)" in stack.processes["worker"].log_text()


def test_dashboard_keeps_serving_through_a_redis_restart(make_stack):
    stack = make_stack(settings_env={"DASHBOARD_USER": USER, "DASHBOARD_PASSWORD": PASSWORD})
    stack.start_redis()
    port = free_port()
    stack.start_dashboard(port)
    wait_until(lambda: api(port, "/api/status")[2].get("redis_reachable") is True, 10, what="the first reading")
    stack.processes["redis"].stop()
    wait_until(
        lambda: api(port, "/api/status")[2].get("redis_reachable") is False, 15, what="the outage on /api/status"
    )
    assert (
        api(port, "/api/alerts")[0] == 200 and api(port, "/api/analytics")[0] == 200
    )  # the last figures, still served
    stack.start_redis()
    wait_until(lambda: api(port, "/api/status")[2].get("redis_reachable") is True, 20, what="Redis back on /api/status")
    log = stack.processes["dashboard"].log_text()
    assert "dashboard cannot read Redis" in log and "dashboard reads Redis again" in log and "Traceback" not in log
