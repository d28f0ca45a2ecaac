"""The manual bot against CoinGlass's own examples: the CoinGlass emulator serves every doc page's example
(tests/fixtures/docs/coinglass), and the cards below are computed by hand from those pages. Also /test_alert,
which goes the way every alert goes (send_message task, a worker, the alert bot's sender), and the original
TELEGLAS's command names, which answer as today's commands do."""

from pathlib import Path

import pytest

from teleglas.devstack.local_stack import LocalStack, wait_until
from tests.support.manual_bot import ALERT_BOT, ALLOWED, ask, bot_replies

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs" / "coinglass"
OTHER = 33333


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    local = LocalStack(
        tmp_path_factory.mktemp("manual-docs"),
        settings_env={"TELEGRAM_ALLOWED_USER_IDS": str(ALLOWED), "MANUAL_COMMANDS_PER_MINUTE": "100"},
    )
    try:
        local.start_redis()
        local.start_telegram_emulator(flood_limits=False)
        local.start_coinglass_emulator(min_subscribers=99, rest_data=DOCS)
        local.start_worker()
        local.start_manual_bot()
        yield local
    finally:
        local.stop()


def test_rsi_card_from_the_rsi_list_page(stack):
    assert ask(stack, "/rsi BTC", 50001, 50001) == "\n".join(
        (
            "📈 <b>BTC</b> RSI · price $87,348.60",
            "15m: 54.7 · price +0.04%",
            " 1h: 71.9 overbought · price -0.23%",
            " 4h: 72.1 overbought · price -0.09%",
            "12h: 62.3 · price +2.72%",
            "24h: 57.9 · price +3.40%",
            " 1w: 52.0 · price +2.60%",
        )
    )
    assert ask(stack, "/rsi ethusdt", 50001, 50001).splitlines()[-1] == " 1w: 33.3 · price +3.45%"
    assert ask(stack, "/rsi SOL", 50001, 50001) == "CoinGlass lists no RSI for SOL."  # supported, not in the list
    assert ask(stack, "/rsi", 50001, 50001) == "Which coin? Usage: /rsi SYMBOL"


def test_rsi_on_a_plan_without_it_says_which_plan_and_what_coinglass_said(stack):
    client = stack.redis()
    for key in client.scan_iter(match="teleglas:rest:cache:*"):  # the answer cached by the test before
        client.delete(key)
    stack.add_rest_fault("/api/futures/rsi/list", "plan")
    assert ask(stack, "/rsi XRP", 50002, 50002) == (
        "This data is not included in the CoinGlass plan of this bot's API key. It needs CoinGlass Standard or "
        "higher. (CoinGlass: “Upgrade plan”)"
    )


@pytest.mark.parametrize(
    "command, card",
    [
        (
            "/raw BTC",
            "📊 <b>BTC</b> market\n💵 Price: $84,773.60 (+1.06% 24h)\n📦 Open interest: $55.00B (+4.58% 24h)\n"
            "💸 Funding (OI-weighted): +0.0020%\n🔁 Volume 24h: ≈$69.31B\n⚖️ Long/short 24h: 1.03\n"
            "🔥 Liquidations 24h: $27.52M (longs $17.79M, shorts $9.73M)",
        ),
        (
            "/funding BTC",
            "💸 <b>BTC</b> funding rates\n<i>USDT/USD-margined</i>\nOKX: +0.0074% / 8h\nBinance: +0.0073% / 8h\n"
            "<i>Coin-margined</i>\nBinance: -0.0018% / 8h",
        ),
        (
            "/sentiment",
            "🧭 <b>Sentiment</b>\nAccounts long/short (Binance BTCUSDT): 73.2% / 26.8% (ratio 2.74)\n"
            "Fear &amp; Greed: n/a (CoinGlass's answer could not be read (fear &amp; greed value above 100))",
        ),
    ],
)
def test_market_cards_from_the_doc_pages(stack, command, card):
    assert ask(stack, command, 50003, 50003) == card


def test_test_alert_comes_from_the_alert_bot_through_the_delivery_path(stack):
    reply = ask(stack, "/test_alert")
    assert reply.startswith("🧪 A test alert is on its way from the alert bot to this chat.")
    wait_until(lambda: bot_replies(stack, ALLOWED, bot=ALERT_BOT), 30, what="the test alert from the alert bot")
    (alert,) = bot_replies(stack, ALLOWED, bot=ALERT_BOT)
    lines = alert.splitlines()
    assert lines[0] == f"🧪 TEST ALERT, asked for with /test_alert by user {ALLOWED}: no market event happened."
    assert lines[1:7] == [
        "🔥 LIQUIDATION ALERT",
        "📍 Exchange: Binance",
        "📊 Symbol: BTCUSDT",
        "💰 Price: $56,738.00",
        "📉 Side: SHORT",
        "💵 Size: $1,250,000",
    ]
    # The worker logs the delivery after Telegram's answer, which the emulator records first.
    wait_until(
        lambda: "[SENDER] delivered alert=test-alert-11111-" in stack.processes["worker"].log_text(),
        10,
        what="the sender's delivery line",
    )


def test_test_alert_needs_the_allowlist(stack):
    assert ask(stack, "/test_alert", OTHER, OTHER) == (
        f"Changing alerts is limited to the users in TELEGRAM_ALLOWED_USER_IDS. Your Telegram user id is "
        f"<code>{OTHER}</code>."
    )
    assert bot_replies(stack, OTHER, bot=ALERT_BOT) == []


@pytest.mark.parametrize(
    "old, new",
    [
        ("/help_alert", "/help"),
        ("/alerts_list", "/alerts"),
        ("/settings_alert", "/alerts"),
        ("/status_alert", "/alerts_status"),
        ("/liquidations BTC", "/liq BTC"),
    ],
)
def test_the_original_names_answer_as_todays_commands(stack, old, new):
    assert ask(stack, old, 50004, 50004) == ask(stack, new, 50004, 50004)


def test_the_original_alert_switches_change_this_chat(stack):
    chat = ALLOWED
    assert ask(stack, "/start_alert BTC", chat).startswith("✅ Subscribed this chat to BTC (all alert kinds).")
    assert ask(stack, "/alert_off", chat) == "Whale alerts off in this chat. Liquidation and other alerts continue."
    assert ask(stack, "/status_alert", chat).startswith("🐋 Whale alerts in this chat: off")
    assert ask(stack, "/alert_on", chat) == "🐋 Whale alerts on in this chat."
    assert ask(stack, "/stop_alert BTC", chat).startswith("Unsubscribed this chat from BTC.")
    assert ask(stack, "/start_alert", chat) == "Which coin? Usage: /subscribe SYMBOL [kinds]"
