"""Safe by default, through real processes: everything works against a Redis that requires a password (and no
log line holds it); idle sockets cannot keep the listener from answering /health or from publishing; strangers
flooding the manual bot's market commands cannot take the CoinGlass budget that beat's checks need."""

import base64
import json
import re
import socket
import time
import urllib.request

import pytest
import redis

from teleglas.devstack.local_stack import free_port, wait_until
from teleglas.manual.bot import MARKET_BUSY
from teleglas.state.keys import manual_rest_budget_key, rest_budget_key
from tests.support.manual_bot import ask, bot_replies
from tests.support.messages import alerted, health, write_scenario

REDIS_PASSWORD = "s3cret/redis+pw-7f3a9c1e"  # "/" and "+" must survive the URL (quoted) and the redaction
DASHBOARD = ("viewer", "dashboard-pass-0451")
FUNDING_ALERTS = ("+0.1520%", "-0.2310%")  # BTC on Bybit, DOGE on Binance in the emulator's data
WHALES = ("12,435,604", "5,186,620")  # the emulator's BTC and ETH whale positions


def dashboard_status(port: int) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
    request.add_header("Authorization", "Basic " + base64.b64encode(":".join(DASHBOARD).encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def texts(stack, chat_id) -> str:
    return "\n".join(m["text"] for m in stack.telegram_messages() if m["chat_id"] == chat_id)


def test_every_process_works_with_a_redis_password_and_no_log_line_holds_it(make_stack):
    stack = make_stack(
        chat_ids=("42",),
        redis_password=REDIS_PASSWORD,
        settings_env={
            "FUNDING_CHECK_INTERVAL": "2",
            "DASHBOARD_USER": DASHBOARD[0],
            "DASHBOARD_PASSWORD": DASHBOARD[1],
            "TELEGRAM_ALLOWED_USER_IDS": "7001",
        },
    )
    stack.start_redis()
    assert "%2F" in stack.redis_url and REDIS_PASSWORD not in stack.redis_url  # quoted in the URL
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=stack.redis_port).ping()  # Redis refuses whoever lacks the password
    stack.start_telegram_emulator(flood_limits=False)
    stack.start_coinglass_emulator()
    stack.start_worker()
    stack.start_beat()
    health_port, dashboard_port = free_port(), free_port()
    stack.start_listener(extra_env={"HEALTH_PORT": str(health_port), "LOG_LEVEL": "DEBUG"})
    stack.start_manual_bot()
    stack.start_dashboard(dashboard_port)

    stack.wait_for_replay()  # the listener reads the stream, the worker alerts
    wait_until(lambda: len(alerted(stack.telegram_messages())) >= 4, 30, 0.2, what="the scenario's alerts")
    wait_until(lambda: all(a in texts(stack, 42) for a in FUNDING_ALERTS), 30, 0.2, what="beat's funding alerts")
    assert ask(stack, "/raw BTC", 7001, 7001).startswith("📊 <b>BTC</b> market")  # the manual bot: REST + Redis
    assert ask(stack, "/subscribe ETH", 7001, 7001).startswith("✅ Subscribed this chat to ETH")
    assert ask(stack, "/status", 7001, 7001).splitlines()[3].startswith("Workers: 1, last heartbeat")
    wait_until(lambda: health(health_port)[0] == 200, 30, 0.2, what="the listener's health")
    assert health(health_port)[1]["redis_reachable"] and health(health_port)[1]["workers"] == 1
    wait_until(lambda: dashboard_status(dashboard_port)["workers"], 10, 0.2, what="the dashboard's reading")
    assert dashboard_status(dashboard_port)["redis_reachable"] is True

    written = (REDIS_PASSWORD, "s3cret%2Fredis%2Bpw-7f3a9c1e", "7f3a9c1e")
    for name, process in stack.processes.items():
        log = process.log_text()
        assert log and not [part for part in written if part in log], name
    assert ":**@127.0.0.1" in stack.processes["worker"].log_text()  # Celery's banner shows the URL, masked


def test_idle_connections_to_the_health_port_keep_neither_health_nor_events_from_the_listener(make_stack, tmp_path):
    liquidation = {"baseAsset": "BTC", "exName": "Binance", "price": 56738.0, "side": 2, "symbol": "BTCUSDT"}
    frames = [
        {"frame": {"channel": "liquidationOrders", "data": [{**liquidation, "time": 1725478245000 + n, "volUsd": 10}]}}
        for n in range(50)
    ]
    stack = make_stack(scenario=write_scenario(tmp_path / "later.jsonl", [{"pause": 5}, *frames]))
    stack.start_redis()
    stack.start_coinglass_emulator()
    port = free_port()
    listener = stack.start_listener(extra_env={"HEALTH_PORT": str(port)})
    wait_until(lambda: _connected(port), 20, 0.1, what="the listener to connect")

    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    try:
        started = time.monotonic()
        status, report = health(port)
        assert time.monotonic() - started < 1.0 and report["is_connected"]
        assert status == 503 and report["reasons"] == ["no worker heartbeat"]  # a true answer, just no worker here
        threads = int(re.search(r"^Threads:\s+(\d+)", _proc_status(listener.process.pid), re.MULTILINE).group(1))
        assert threads < 30  # the idle sockets hold no thread of the listener
        stack.wait_for_replay()
        wait_until(lambda: len(stack.queued_events()) == 50, 10, 0.1, what="every event published")
        started = time.monotonic()
        assert health(port)[1]["is_connected"] and time.monotonic() - started < 1.0
    finally:
        for sock in idle:
            sock.close()
    assert listener.running


def _connected(port: int) -> bool:
    try:
        return health(port)[1]["is_connected"]
    except OSError:
        return False


def _proc_status(pid: int) -> str:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return status.read()


COINS = ("BTC", "ETH", "SOL", "DOGE", "XRP")
FLOODERS = (81001, 81002, 81003)
PER_USER = 20


def test_strangers_flooding_market_commands_leave_beats_checks_their_budget(make_stack):
    """A Hobbyist key (30 requests a minute, as CoinGlass's headers say; the manual bot's share 0.5): three users
    cycle five market commands over every coin (about 45 uncached requests; /liq alone costs 6), chatter, while beat
    polls whales and checks funding every 10 s. Beat's checks all run and alert; each flooder gets budget
    messages (the bot's share, then their own), and a bystander is answered at once."""
    stack = make_stack(
        chat_ids=("42",),
        settings_env={
            "COINGLASS_API_KEY_WS": "",  # polling mode: the whale fallback is beat's, every WHALE_POLL_INTERVAL
            "WHALE_POLL_INTERVAL": "10",
            "FUNDING_CHECK_INTERVAL": "10",
            "MANUAL_COMMANDS_PER_MINUTE": str(PER_USER),
        },
    )
    stack.start_redis()
    stack.start_telegram_emulator()  # with Telegram's flood limits: replies to one chat wait their turn
    stack.start_coinglass_emulator(plan_limit=30)
    stack.start_worker()
    stack.start_manual_bot()
    if time.time() % 60 > 25:  # budgets are per calendar minute: flood inside one
        time.sleep(61 - time.time() % 60)
    stack.start_beat()
    started = time.monotonic()
    commands = ("liq", "oi", "funding", "raw_orderbook", "sentiment")
    flood = [f"/{command} {coin}" for coin in COINS for command in commands] + ["hi", "/nope"]
    for n in range(len(flood)):
        for user in FLOODERS:
            stack.send_user_message(flood[(n + user) % len(flood)], user, user)
    started_bystander = time.monotonic()
    assert ask(stack, "/help", 81999, 81999).startswith("<b>Market data</b>")
    assert time.monotonic() - started_bystander < 3  # not stuck behind the flood

    for user in FLOODERS:
        wait_until(lambda user=user: len(bot_replies(stack, user)) == PER_USER + 1, 60, 0.2, what=f"{user}'s replies")
    wait_until(lambda: time.monotonic() - started > 35, 40, 0.5, what="beat's rounds")
    time.sleep(1)
    worker_log = stack.processes["worker"].log_text()
    busy = MARKET_BUSY.split(":")[0]
    for user in FLOODERS:
        replies = bot_replies(stack, user)
        assert len(replies) == PER_USER + 1, replies  # nothing after the polite refusal
        assert replies[-1] == f"Easy there: at most {PER_USER} messages a minute. Please try again in a minute."
        assert any(r.startswith(busy) for r in replies), replies  # the bot's share ran out: said so, not silence
    assert sum(len(bot_replies(stack, user)) for user in FLOODERS) == len(FLOODERS) * (PER_USER + 1)

    assert "failed" not in "\n".join(line for line in worker_log.splitlines() if "check" in line or "poll" in line)
    assert len(re.findall(r"funding check: \d+ alert", worker_log)) >= 3  # every 10 s, none refused
    assert len(re.findall(r"whale fallback poll \(no COINGLASS_API_KEY_WS\): \d+ alert", worker_log)) >= 3
    alerts = texts(stack, 42)
    assert all(a in alerts for a in FUNDING_ALERTS + WHALES), alerts
    client, minute = stack.redis(), int(time.time() // 60)
    for past in range(minute - 2, minute + 1):  # never more than the share, or the plan, in any minute
        assert int(client.get(manual_rest_budget_key(past)) or 0) <= 15
        assert int(client.get(rest_budget_key(past)) or 0) <= 30
