"""The manual bot end to end: `python bots/manual.py` long-polls the Telegram emulator, asks the CoinGlass
emulator over REST, keeps chat settings in a real Redis; tests type as users and read the exact replies."""

import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from teleglas.deliver.message_split import visible_units
from teleglas.devstack.emulators.coinglass_rest import DEFAULT_REST_DATA
from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_MANUAL_TOKEN, LocalStack, free_port, wait_until
from teleglas.manual.commands import COMMANDS
from teleglas.model.events import LiquidationOrder
from teleglas.settings import PROJECT_ROOT
from teleglas.state.keys import chat_migrations_key, command_count_key
from tests.support.manual_bot import ALERT_BOT, ALLOWED, MANUAL_BOT, ask, bot_replies
from tests.support.messages import alerted, health
from tests.support.state import State

OTHER, ADMIN_GROUP = 33333, -1002000000001
ALERT_GROUP = -1001000000001


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    local = LocalStack(
        tmp_path_factory.mktemp("manual"),
        chat_ids=(str(ALERT_GROUP),),
        settings_env={
            "TELEGRAM_ALLOWED_USER_IDS": f"{ALLOWED},22222",
            "MANUAL_COMMANDS_PER_MINUTE": "30",
            "COINGLASS_REQUESTS_PER_MINUTE": "1000",  # the module asks more than a Hobbyist plan's share
        },
    )
    try:
        local.start_redis()
        local.start_telegram_emulator(flood_limits=False)
        local.start_coinglass_emulator(min_subscribers=99)
        local.start_manual_bot()
        yield local
    finally:
        local.stop()


def assert_silent(stack, text, chat_id, user_id):
    """No reply to `text`: a /help sent after it is the only new message."""
    before = len(bot_replies(stack, chat_id))
    stack.send_user_message(text, chat_id, user_id)
    assert ask(stack, "/help", chat_id, user_id).startswith("<b>Market data</b>")
    assert len(bot_replies(stack, chat_id)) == before + 1


def test_start_sets_the_command_menu_and_says_where_alerts_come_from(stack):
    with urllib.request.urlopen(f"{stack.telegram_url}/_emulator/commands", timeout=5) as response:
        menus = json.load(response)
    assert [c["command"] for c in menus[str(MANUAL_BOT)]] == [c.name for c in COMMANDS]
    log = stack.processes["manual-bot"].log_text()
    assert (
        f"[MANUAL] @teleglas_emulator_bot answering {len(COMMANDS)} commands; automatic whale and liquidation "
        "monitoring runs in the alert system" in log
    )
    assert DEMO_MANUAL_TOKEN.split(":")[1] not in log
    wait_until(lambda: "getupdates" in [c["method"] for c in stack.telegram_calls()], 10, what="a long poll answered")
    calls = [c["method"] for c in stack.telegram_calls()]
    assert (
        calls.index("getme") < calls.index("deletewebhook") < calls.index("setmycommands") < calls.index("getupdates")
    )


def test_start_and_help_list_every_command(stack):
    start = ask(stack, "/start", chat_id=50004, user_id=50004)
    assert start.startswith(
        "👋 <b>TELEGLAS</b>: real-time crypto-derivatives alerts and market data.\n"
        "Automatic alerts come from the alert bot; this bot answers commands.\n\n<b>Market data</b>\n"
    )
    assert ask(stack, "/help", chat_id=50004, user_id=50004) == start.split("\n\n", 1)[1]
    for command in COMMANDS:
        if command.name not in ("start", "help", "status"):
            assert command.usage.replace("&", "&amp;") + " · " in start, command.usage
    assert "/status · Alert system status" in start


MARKET_CARDS = {
    "/raw BTC": "\n".join(
        (
            "📊 <b>BTC</b> market",
            "💵 Price: $96,850.50 (+1.84% 24h)",
            "📦 Open interest: $57.80B (+3.50% 24h)",
            "💸 Funding (OI-weighted): +0.0102%",
            "🔁 Volume 24h: ≈$84.48B",
            "⚖️ Long/short 24h: 1.07",
            "🔥 Liquidations 24h: $278.70M (longs $182.40M, shorts $96.30M)",
        )
    ),
    "/liq@teleglas_emulator_bot btcusdt": "\n".join(
        (
            "🔥 <b>BTC</b> liquidations, all exchanges",
            " 1h: $11.30M · longs $8.20M · shorts $3.10M",
            " 4h: $54.10M · longs $41.30M · shorts $12.80M",
            "12h: $147.50M · longs $96.50M · shorts $51.00M",
            "24h: $278.70M · longs $182.40M · shorts $96.30M",
        )
    ),
    "/funding BTC": "\n".join(
        (
            "💸 <b>BTC</b> funding rates",
            "<i>USDT/USD-margined</i>",
            "Bybit: +0.1520% / 8h",
            "Binance: +0.0100% / 8h",
            "<i>Coin-margined</i>",
            "OKX: -0.0050% / 8h",
        )
    ),
    "/oi BTC": "\n".join(
        (
            "📦 <b>BTC</b> open interest",
            "All exchanges: $57.80B · 1h +1.2% 4h -0.8% 24h +3.5%",
            "Binance: $11.20B · 1h +1.5% 4h n/a 24h +4.1%",
            "CME: $10.30B · 1h +0.2% 4h n/a 24h +1.0%",
            "Bybit: $7.90B · 1h +2.3% 4h n/a 24h +6.2%",
        )
    ),
    "/sentiment": "\n".join(
        (
            "🧭 <b>Sentiment</b>",
            "Accounts long/short (Binance BTCUSDT): 52.4% / 47.6% (ratio 1.10)",
            "Fear &amp; Greed: 72 (greed)",
        )
    ),
}


@pytest.mark.parametrize("command", list(MARKET_CARDS))
def test_market_data_commands_answer_with_their_card(stack, command):
    assert ask(stack, command, chat_id=50001, user_id=50001) == MARKET_CARDS[command]


def test_time_dependent_cards(stack):
    book = ask(stack, "/raw_orderbook btc", chat_id=50002, user_id=50002).splitlines()
    assert book[:4] == [
        "📚 <b>BTC</b> order book, Binance BTCUSDT, ±1% of price",
        "🟢 Bids: $512.30M",
        "🔴 Asks: $431.80M",
        "⚖️ Imbalance: +8.5% (heavier on bids)",
    ]
    assert re.fullmatch(r"🕒 As of \d\d:\d\d:\d\d", book[4])
    whales = ask(stack, "/whale", chat_id=50002, user_id=50002).splitlines()
    assert whales[0] == "🐋 <b>Latest whale positions</b> (Hyperliquid)"
    assert [re.sub(r"^\d\d:\d\d:\d\d |^\w{3} \d\d \d\d:\d\d ", "", line) for line in whales[1:]] == [
        "SOL LONG $298.41K closed @ $142.10 · 0x00aa…bbcc",
        "ETH SHORT $5.19M opened @ $3,412.25 · 0x9b1c…c3d4",
        "BTC LONG $12.44M opened @ $96,850.50 · 0x3f2a…8192",
        "BTC SHORT $2.88M opened @ $96,000.00 · 0x5e5e…5e5e",
    ]
    assert re.match(r"\w{3} \d\d ", whales[-1])  # a day old: shown with its date


@pytest.mark.parametrize(
    "command, reply",
    [
        ("/raw", "Which coin? Usage: /raw SYMBOL"),
        ("/raw XYZ", "Unknown symbol XYZ. Try BTC, ETH, SOL."),
        ("/raw <img src=x onerror=alert(1)>", "“&lt;img” is not a coin symbol. Usage: /raw SYMBOL"),
        ("/funding", "Which coin? Usage: /funding SYMBOL"),
        ("/liq " + "A" * 300, "“" + "A" * 64 + "…” is not a coin symbol. Usage: /liq SYMBOL"),
        ("/threshold BTC liq", "Usage: /threshold SYMBOL liq|whale USD"),
        ("/threshold BTC funding 1m", "“funding” is neither liq nor whale. Usage: /threshold SYMBOL liq|whale USD"),
        (
            "/threshold BTC liq lots",
            "“lots” is not an amount in USD like 250000, 250k or 1.5m. Usage: /threshold SYMBOL liq|whale USD",
        ),
        ("/mute", "For how long? Usage: /mute DURATION"),
        ("/mute forever", "“forever” is not a duration like 30m, 2h or 1d. Usage: /mute DURATION"),
        ("/subscribe BTC bogus", "Unknown alert kind “bogus”. Choose from: liquidation, whale, trade, funding, oi."),
        ("/unsubscribe", "Which coin? Usage: /unsubscribe SYMBOL"),
        ("/nope", "Unknown command /nope. /help lists the commands."),
        ("hello", "Send /help for the commands."),
    ],
)
def test_bad_input_gets_a_short_helpful_answer(stack, command, reply):
    assert ask(stack, command, chat_id=22222, user_id=22222) == reply


@pytest.mark.parametrize(
    "fault, reply",
    [
        (
            "plan",
            "This data is not included in the CoinGlass plan of this bot's API key. It needs CoinGlass Standard or "
            "higher. (CoinGlass: “Upgrade plan”)",
        ),
        ("rate_limit", "CoinGlass's request limit for this bot is reached. Please try again in a minute."),
        ("server_error", "CoinGlass is not answering right now. Please try again in a few minutes."),
        ("bad_key", "CoinGlass refused this bot's API key. The operator needs to check COINGLASS_API_KEY."),
    ],
)
def test_coinglass_errors_become_answers(stack, fault, reply):
    client = stack.redis()
    for key in client.scan_iter(match="teleglas:rest:cache:*"):
        client.delete(key)
    stack.add_rest_fault("/api/futures/coins-markets", fault)
    assert ask(stack, "/raw ETH", chat_id=50003, user_id=50003) == reply
    assert ask(stack, "/raw ETH", chat_id=50003, user_id=50003).startswith(
        "📊 <b>ETH</b> market"
    )  # the next one works again


def test_settings_commands_change_this_chat_and_say_so(stack):
    chat = ALLOWED
    settings_key = f"teleglas:chat:{chat}:settings"
    assert ask(stack, "/alerts", chat) == "\n".join(
        (
            "🔔 <b>Alerts in this chat</b>",
            "Coins: none. /subscribe SYMBOL to get alerts here.",
            "Thresholds: the alert system's own",
            "Whale alerts: on",
            "Muted: no",
        )
    )
    assert ask(stack, "/subscribe btc liq", chat) == "\n".join(
        (
            "✅ Subscribed this chat to BTC (liquidations).",
            "Coins: BTC.",
            "Alerts come from the alert bot, which must be a member of this chat (or started, in a private chat).",
        )
    )
    assert ask(stack, "/subscribe ETHUSDT", chat).startswith(
        "✅ Subscribed this chat to ETH (all alert kinds).\nCoins: BTC, ETH."
    )
    assert ask(stack, "/threshold BTC liq 250k", chat) == (
        "✅ BTC liquidation alerts in this chat from $250,000 up.\n"
        "The alert system itself starts at $500,000 for BTC, so smaller ones will not appear."
    )
    assert ask(stack, "/threshold ETH whale 2.5m", chat) == "✅ ETH whale alerts in this chat from $2,500,000 up."
    muted = ask(stack, "/mute 2h", chat)
    until = float(stack.redis().hget(settings_key, "muted_until"))
    assert abs(until - (time.time() + 7200)) < 30
    # The time alone on the same day; the date too when the two hours run past midnight.
    shown = time.strftime(
        "%H:%M" if time.gmtime(until)[:3] == time.gmtime()[:3] else "%Y-%m-%d %H:%M", time.gmtime(until)
    )
    assert muted == f"🔕 Alerts muted in this chat until {shown} UTC. /unmute to resume sooner."
    assert ask(stack, "/alerts_off_w", chat) == "Whale alerts off in this chat. Liquidation and other alerts continue."
    described = ask(stack, "/alerts", chat).splitlines()
    assert described[:5] == [
        "🔔 <b>Alerts in this chat</b>",
        "Coins: BTC (liquidation), ETH (all kinds)",
        "Threshold: BTC liquidations from $250,000",
        "Threshold: ETH whales from $2,500,000",
        "Whale alerts: off",
    ]
    assert described[5].startswith("Muted: until ")
    assert ask(stack, "/alerts_status", chat) == "\n".join(
        (
            "🐋 Whale alerts in this chat: off",
            "System-wide: on",
            "Source: REST polling fallback (no listener connected in the last LISTENER_STALE_AFTER s)",
        )
    )
    assert ask(stack, "/unmute", chat) == "🔔 Alerts resumed in this chat."
    assert ask(stack, "/unmute", chat) == "This chat was not muted."
    assert ask(stack, "/alerts_on_w", chat) == "🐋 Whale alerts on in this chat."
    assert (
        ask(stack, "/unsubscribe DOGE", chat) == "This chat is not subscribed to DOGE. /alerts shows its subscriptions."
    )
    assert ask(stack, "/unsubscribe BTC", chat) == "Unsubscribed this chat from BTC. Coins: ETH."
    assert ask(stack, "/unsubscribe ETH", chat) == (
        "Unsubscribed this chat from ETH. No coins left: this chat gets no alerts now. "
        "/subscribe SYMBOL to start again."
    )
    fields = {k.decode(): v.decode() for k, v in stack.redis().hgetall(settings_key).items()}
    assert fields == {"liquidation_min_usd:BTC": "250000", "whale_min_usd:ETH": "2500000"}
    assert stack.redis().smembers("teleglas:subscribers") == set()


def test_allowlist_group_admins_and_channel_posts(stack):
    refused = ask(stack, "/subscribe BTC", chat_id=OTHER, user_id=OTHER)
    assert (
        refused == "Changing alerts is limited to the users in TELEGRAM_ALLOWED_USER_IDS. "
        f"Your Telegram user id is <code>{OTHER}</code>."
    )
    assert (
        ask(stack, "/raw BTC", chat_id=OTHER, user_id=OTHER) == MARKET_CARDS["/raw BTC"]
    )  # market data is public by default
    assert ask(stack, "/alerts", chat_id=OTHER, user_id=OTHER).startswith(
        "🔔 <b>Alerts in this chat</b>"
    )  # reading is for anyone

    assert ask(stack, "/mute 1h", ADMIN_GROUP, ALLOWED) == "Only this group's admins can change its alerts."
    stack.set_telegram_chats(admins={str(ADMIN_GROUP): [ALLOWED]})
    assert ask(stack, "/mute 1h", ADMIN_GROUP, ALLOWED).startswith("🔕 Alerts muted in this chat until ")
    assert ask(stack, "/mute 1h", ADMIN_GROUP, OTHER).startswith(
        "Changing alerts is limited to the users in TELEGRAM_ALLOWED_USER_IDS."
    )
    channel_reply = ask(stack, "/subscribe BTC", "@desk_channel", reply_chat=-1001000000000)
    assert (
        channel_reply
        == "A channel post cannot change alerts: the bot cannot tell who sent it. Use a private chat or a group."
    )


def test_commands_meant_for_others_get_no_answer(stack):
    assert_silent(stack, "/liq@SomeOtherBot BTC", ADMIN_GROUP, 22222)  # another bot's command in a group
    assert_silent(stack, "/nope", ADMIN_GROUP, 22222)  # unknown, and not addressed to us
    assert_silent(stack, "good morning", ADMIN_GROUP, 22222)  # chat in a group
    assert (
        ask(stack, "/nope@teleglas_emulator_bot", ADMIN_GROUP, 22222)
        == "Unknown command /nope. /help lists the commands."
    )


def silenced(stack, user) -> int:
    """How many of `user`'s commands the bot has handled by staying silent (one log line each)."""
    return stack.processes["manual-bot"].log_text().count(f"user={user} not answered: over the message budget")


def test_per_user_rate_limit_refuses_politely_once(stack):
    """The budget counts per calendar minute of the bot's clock; the test fills it in Redis instead of racing a
    minute, and reads which minute the refusal fell in, so a minute turning during the test changes nothing."""
    user, client = 60001, stack.redis()
    minute = int(time.time() // 60)
    minutes = range(minute, minute + 3)
    for m in minutes:
        client.set(command_count_key(user, m), 29, ex=600)
    replies = [ask(stack, "/help", user, user)]
    while not replies[-1].startswith("Easy there") and len(replies) < 3:  # a minute may turn between two asks
        replies.append(ask(stack, "/help", user, user))
    assert all(r.startswith("<b>Market data</b>") for r in replies[:-1]) and len(replies) >= 2
    assert replies[-1] == "Easy there: at most 30 messages a minute. Please try again in a minute."
    (refused_in,) = [m for m in minutes if int(client.get(command_count_key(user, m))) == 31]
    for m in minutes:
        if m > refused_in:
            client.set(command_count_key(user, m), 31, ex=600)  # later minutes already refused once: silence
    before = len(bot_replies(stack, user))
    for _ in range(5):
        stack.send_user_message("/help", user, user)
    wait_until(lambda: silenced(stack, user) == 5, 15, what="the bot to handle the five commands")
    assert ask(stack, "/help", 60002, 60002).startswith("<b>Market data</b>")  # another user is not limited
    assert len(bot_replies(stack, user)) == before  # no flood of refusals


def test_every_answered_message_counts_against_the_budget_plain_text_and_unknown_commands_too(stack):
    user = 60003
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    replies = [ask(stack, text, user, user) for text in ["hello", "/nope", "/liq@teleglas_emulator_bot"] * 10]
    assert replies[:2] == ["Send /help for the commands.", "Unknown command /nope. /help lists the commands."]
    assert ask(stack, "hello", user, user) == "Easy there: at most 30 messages a minute. Please try again in a minute."
    before = len(bot_replies(stack, user))
    for text in ("hello", "/nope", "/help"):
        stack.send_user_message(text, user, user)
    assert ask(stack, "/help", 60004, 60004).startswith("<b>Market data</b>")
    time.sleep(0.5)
    assert len(bot_replies(stack, user)) == before  # silence, whatever the kind of message


def test_status_is_for_the_allowed_users(stack):
    assert ask(stack, "/status", chat_id=OTHER, user_id=OTHER) == (
        "The alert system's status is limited to the users in TELEGRAM_ALLOWED_USER_IDS. "
        f"Your Telegram user id is <code>{OTHER}</code>."
    )
    assert ask(stack, "/status", chat_id=ALLOWED, user_id=ALLOWED).startswith("🩺 <b>TELEGLAS status</b>")


def test_an_answer_longer_than_one_message_arrives_in_parts(make_stack, tmp_path):
    """/funding for a coin listed on 300 exchanges: about 7,000 characters, sent as parts of at most 4,096."""
    data = json.loads(DEFAULT_REST_DATA.read_text())
    venues = [
        {
            "exchange": f"Venue{n:03d}",
            "funding_rate": 0.0001 * n,
            "funding_rate_interval": 8,
            "next_funding_time": 1732521600000,
        }
        for n in range(300)
    ]
    data["/api/futures/funding-rate/exchange-list"] = [
        {"symbol": "BTC", "stablecoin_margin_list": venues, "token_margin_list": []}
    ]
    rest_data = tmp_path / "rest.json"
    rest_data.write_text(json.dumps(data))
    stack = make_stack()
    stack.start_redis()
    stack.start_telegram_emulator(flood_limits=False)
    stack.start_coinglass_emulator(min_subscribers=99, rest_data=rest_data)
    stack.start_manual_bot()
    stack.send_user_message("/funding BTC", ALLOWED, ALLOWED)
    # The lines go highest rate first: Venue000 ends the last part.
    wait_until(lambda: "Venue000" in "".join(bot_replies(stack, ALLOWED)), 15, what="every part")
    parts = bot_replies(stack, ALLOWED)
    assert len(parts) == 2 and all(visible_units(part, is_html=True) <= 4096 for part in parts)
    assert parts[0].startswith("💸 <b>BTC</b> funding rates\n<i>USDT/USD-margined</i>\n")
    lines = "\n".join(parts).splitlines()
    assert [line.split(":")[0] for line in lines[2:]] == sorted((f"Venue{n:03d}" for n in range(300)), reverse=True)


def _run_bot(stack, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bots" / "manual.py")],
        env=stack.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_to_start_with_the_alert_token_or_none(stack):
    same = _run_bot(stack, TELEGRAM_TOKEN=DEMO_ALERT_TOKEN, MANUAL_HEALTH_PORT="0")
    assert same.returncode == 2
    assert "[MANUAL] not starting: TELEGRAM_TOKEN equals TELEGRAM_ALERT_TOKEN" in same.stderr
    assert DEMO_ALERT_TOKEN.split(":")[1] not in same.stderr + same.stdout
    missing = _run_bot(stack, TELEGRAM_TOKEN="", MANUAL_HEALTH_PORT="0")
    assert missing.returncode == 2 and "[MANUAL] not starting: TELEGRAM_TOKEN is empty" in missing.stderr


def test_health_reports_polling_and_redis(make_stack):
    stack = make_stack()
    stack.start_redis()
    stack.start_telegram_emulator(flood_limits=False)
    port = free_port()
    stack.start_manual_bot(extra_env={"MANUAL_HEALTH_PORT": str(port)})
    wait_until(lambda: health(port)[0] == 200, 10, what="a healthy bot")
    status, report = health(port)
    assert (
        report["status"] == "ok"
        and report["polling_alive"]
        and report["redis_reachable"]
        and report["last_update_age_s"] is None
    )
    assert DEMO_MANUAL_TOKEN not in json.dumps(report)
    stack.processes["redis"].stop()
    status, report = health(port)
    assert status == 503 and report["reasons"] == ["redis unreachable"]


def _liquidation(coin, usd, side, seconds_ago):
    return LiquidationOrder(
        "Binance", f"{coin}USDT", coin, 100.0, side, float(usd), int((time.time() - seconds_ago) * 1000)
    ).to_payload()


def test_a_subscription_and_threshold_set_through_the_bot_change_what_the_engine_sends(make_stack):
    stack = make_stack(chat_ids=(str(ALERT_GROUP),), settings_env={"TELEGRAM_ALLOWED_USER_IDS": str(ALLOWED)})
    stack.start_redis()
    stack.start_telegram_emulator(flood_limits=False)
    stack.start_coinglass_emulator(min_subscribers=99)
    stack.start_worker()
    stack.start_manual_bot()
    assert ask(stack, "/subscribe ETH liq", ALLOWED).startswith("✅ Subscribed this chat to ETH (liquidations).")
    assert ask(stack, "/threshold ETH liq 2m", ALLOWED).startswith(
        "✅ ETH liquidation alerts in this chat from $2,000,000 up."
    )

    stack.enqueue_events(
        [_liquidation("ETH", 900_000, 1, 3), _liquidation("ETH", 2_500_000, 2, 2), _liquidation("BTC", 700_000, 1, 1)]
    )
    messages = stack.wait_for_idle(settle_s=1.0)
    to_group = [m for m in messages if m["bot_id"] == ALERT_BOT and m["chat_id"] == ALERT_GROUP]
    to_user = [m for m in messages if m["bot_id"] == ALERT_BOT and m["chat_id"] == ALLOWED]
    assert sorted(alerted(to_group)) == ["BTCUSDT", "ETHUSDT", "ETHUSDT"]  # the configured chat gets every alert
    assert alerted(to_user) == ["ETHUSDT"] and "$2,500,000" in to_user[0]["text"]  # only ETH, only from $2M

    assert ask(stack, "/unsubscribe ETH", ALLOWED).endswith(
        "this chat gets no alerts now. /subscribe SYMBOL to start again."
    )
    stack.enqueue_events([_liquidation("SOL", 3_000_000, 1, 0)])  # a coin without a cooldown running
    messages = stack.wait_for_idle(settle_s=1.0)
    assert (
        len([m for m in messages if m["bot_id"] == ALERT_BOT and m["chat_id"] == ALLOWED]) == 1
    )  # nothing new after /unsubscribe

    sent = len([m for m in messages if m["bot_id"] == ALERT_BOT])
    status = ask(stack, "/status", ALLOWED).splitlines()
    assert status[0] == "🩺 <b>TELEGLAS status</b>"
    assert (
        status[1]
        == "WebSocket: not streaming: REST polling fallback (no listener connected in the last LISTENER_STALE_AFTER s)"
    )
    assert status[2] == "Queues: events 0 · telegram 0"
    assert re.fullmatch(r"Workers: 1, last heartbeat \d+ s ago", status[3])
    assert status[4:] == [f"Messages sent in the last hour: {sent}", "Dead letters: 0"]


def test_alerts_in_a_migrated_alert_group_says_it_is_a_configured_alert_chat(stack):
    """The same chat directory as fan-out: a configured group that Telegram turned into a supergroup still gets
    every alert under its new id, and /alerts there says so (not "Coins: none")."""
    supergroup = -1009000000001
    before = ask(stack, "/alerts", ALERT_GROUP, ALLOWED)
    State.of(stack.redis()).chats.migrate_chat(ALERT_GROUP, supergroup)  # what the sender does on Telegram's 400
    try:
        assert ask(stack, "/alerts", supergroup, ALLOWED) == before
        assert "Coins: none" not in before
    finally:
        stack.redis().delete(chat_migrations_key())
