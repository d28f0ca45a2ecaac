"""The manual bot's commands: what each one needs, and the answer it gives. Every handler takes who asked
and the words after the command, and returns Telegram HTML; nothing here talks to Telegram itself.

Errors become answers at this edge: a bad argument, an unknown coin, CoinGlass refusing (plan, rate limit,
key) or not answering. A user never sees a stack trace, and never silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teleglas.decide.formatting import escape, format_event_alert, format_usd
from teleglas.decide.rules import Rules
from teleglas.defines import LOG_MANUAL, MODE_WEBSOCKET
from teleglas.manual import market_cards as cards
from teleglas.manual.access import Requester
from teleglas.manual.chart_answers import ChartAnswers, PhotoAnswer, window_argument
from teleglas.manual.chat_alerts import ChatAlerts, ChatAlertView
from teleglas.manual.command_args import (
    ArgumentError,
    duration_argument,
    kinds_argument,
    quoted,
    symbol_argument,
    threshold_arguments,
)
from teleglas.manual.market_data import LIQUIDATION_TIMEFRAMES, MARKET_PAGES, MarketData, NoData, UnknownCoin
from teleglas.model.chat import ChatId
from teleglas.model.events import LiquidationOrder
from teleglas.model.symbols import usdt_pair
from teleglas.ops.health import gather
from teleglas.settings import Settings
from teleglas.source.coinglass.rest import (
    CoinGlassAuthError,
    CoinGlassError,
    CoinGlassPlanError,
    CoinGlassRateLimited,
    CoinGlassServerError,
)
from teleglas.state.liveness import whale_source
from teleglas.state.system import SystemState

log = logging.getLogger(__name__)

MARKET = "market"
SETTINGS = "settings"
INFO = "info"
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str
    description: str  # setMyCommands: 1-256 characters
    group: str  # MARKET, SETTINGS (allowlist + group admins), INFO (anyone) or SYSTEM (allowlist unless public)
    rest_cost: int = 0  # the most CoinGlass requests it makes (the coin check included), met from the bot's share
    aliases: tuple[str, ...] = ()  # the original TELEGLAS's names for it (README: Coming from TELEGLAS)


COMMANDS = (
    Command("raw", "/raw SYMBOL", "Price, OI, funding, volume, long/short, liquidations", MARKET, 1 + MARKET_PAGES),
    Command("raw_orderbook", "/raw_orderbook SYMBOL", "Order book depth and imbalance", MARKET, 2),
    Command(
        "liq",
        "/liq SYMBOL",
        "Liquidations by timeframe and side",
        MARKET,
        2 + len(LIQUIDATION_TIMEFRAMES),  # the coin check, each timeframe, the 24 h history of its chart
        ("liquidations",),
    ),
    Command("whale", "/whale", "Latest whale positions", MARKET, 1),
    Command("funding", "/funding SYMBOL", "Funding rates across exchanges", MARKET, 2),
    Command("oi", "/oi SYMBOL", "Open interest by exchange", MARKET, 3),
    Command("rsi", "/rsi SYMBOL", "RSI from 15m to 1w, with price changes", MARKET, 2),
    Command("sentiment", "/sentiment [SYMBOL]", "Long/short ratio and fear & greed", MARKET, 3),
    Command("chart", "/chart SYMBOL [window]", "Liquidations and price as a chart (30m, 4h, up to 24h)", MARKET),
    Command(
        "subscribe", "/subscribe SYMBOL [kinds]", "Get alerts for a coin in this chat", SETTINGS, 0, ("start_alert",)
    ),
    Command("unsubscribe", "/unsubscribe SYMBOL", "Stop alerts for a coin in this chat", SETTINGS, 0, ("stop_alert",)),
    Command(
        "alerts",
        "/alerts",
        "This chat's subscriptions, thresholds and mute",
        INFO,
        0,
        ("alerts_list", "settings_alert"),
    ),
    Command("threshold", "/threshold SYMBOL liq|whale USD", "This chat's minimum alert size for a coin", SETTINGS),
    Command("mute", "/mute DURATION", "Pause alerts in this chat (30m, 2h, 1d)", SETTINGS),
    Command("unmute", "/unmute", "Resume alerts in this chat", SETTINGS),
    Command("recap", "/recap [HH:MM [TZ]|off]", "A daily picture of the market in this chat", SETTINGS),
    Command("alerts_on_w", "/alerts_on_w", "Whale alerts on in this chat", SETTINGS, 0, ("alert_on",)),
    Command("alerts_off_w", "/alerts_off_w", "Whale alerts off in this chat", SETTINGS, 0, ("alert_off",)),
    Command("alerts_status", "/alerts_status", "Whale alerts: on or off, and their source", INFO, 0, ("status_alert",)),
    Command("test_alert", "/test_alert", "A sample alert from the alert bot to this chat", SETTINGS),
    Command("status", "/status", "Alert system status", SYSTEM),
    Command("help", "/help", "The commands", INFO, 0, ("help_alert",)),
    Command("start", "/start", "Welcome and the commands", INFO),
)
BY_NAME = {name: c for c in COMMANDS for name in (c.name, *c.aliases)}
KIND_LABELS = {
    "liquidation": "liquidations",
    "whale": "whales",
    "trade": "trades",
    "funding": "funding",
    "oi": "open interest",
}


def help_text() -> str:
    lines = ["<b>Market data</b>"] + [
        f"{escape(c.usage)} · {escape(c.description)}" for c in COMMANDS if c.group == MARKET
    ]
    lines += ["", "<b>Alerts in this chat</b>"] + [
        f"{escape(c.usage)} · {escape(c.description)}"
        for c in COMMANDS
        if c.group == SETTINGS or c.name in ("alerts", "alerts_status")
    ]
    lines += [
        "",
        "/status · Alert system status",
        "Kinds: liquidation, whale, trade, funding, oi. Amounts: 250000, 250k, 1.5m.",
        "Coming from TELEGLAS? Its names work too: "
        + ", ".join(f"/{alias} = /{c.name}" for c in COMMANDS for alias in c.aliases)
        + ".",
    ]
    return "\n".join(lines)


def coinglass_error_reply(exc: CoinGlassError) -> str:
    if isinstance(exc, CoinGlassPlanError):
        needs = f" It needs CoinGlass {exc.required} or higher." if exc.required else ""
        said = f" (CoinGlass: “{escape(exc.wording[:80])}”)" if exc.wording else ""
        return f"This data is not included in the CoinGlass plan of this bot's API key.{needs}{said}"
    if isinstance(exc, CoinGlassRateLimited):
        return "CoinGlass's request limit for this bot is reached. Please try again in a minute."
    if isinstance(exc, CoinGlassAuthError):
        return "CoinGlass refused this bot's API key. The operator needs to check COINGLASS_API_KEY."
    if isinstance(exc, CoinGlassServerError):
        return "CoinGlass is not answering right now. Please try again in a few minutes."
    return "CoinGlass could not answer this request."


# The alert bot's send_message task for (chat, text, alert id): /test_alert goes the way every alert goes.
SendAlert = Callable[[ChatId, str, str], None]


class CommandHandlers:
    def __init__(
        self,
        settings: Settings,
        state: SystemState,
        market: MarketData,
        chat_alerts: ChatAlerts,
        rules: Rules,
        send_alert: SendAlert,
        clock: Callable[[], float] = time.time,
        charts: ChartAnswers | None = None,
    ):
        self.settings = settings
        self.state = state
        self.market = market
        self.chats = chat_alerts
        self.rules = rules
        self.send_alert = send_alert
        self.clock = clock
        self.zone = settings.timezone
        self.charts = charts if settings.charts.enabled else None  # None: every answer is text

    def answer(self, command: Command, who: Requester, args: list[str]) -> str | PhotoAnswer:
        if command.group == MARKET and command.rest_cost and not self.settings.coinglass.api_key:
            return f"/{command.name} needs a CoinGlass API key (COINGLASS_API_KEY)."  # the exchange streams need none
        try:
            return getattr(self, f"cmd_{command.name}")(who, args)
        except ArgumentError as exc:
            return escape(str(exc))
        except UnknownCoin as exc:
            return f"Unknown symbol {escape(quoted(exc.coin))}. Try {', '.join(exc.examples)}."
        except NoData as exc:
            return escape(str(exc)) + "."
        except CoinGlassError as exc:
            log.warning("%s /%s: %s", LOG_MANUAL, command.name, exc)
            return coinglass_error_reply(exc)

    # -- market data -----------------------------------------------------------------------------------

    def _coin(self, args: list[str], command: str) -> str:
        coin = symbol_argument(args, BY_NAME[command].usage)
        self.market.require_coin(coin)
        return coin

    def cmd_raw(self, who: Requester, args: list[str]) -> str:
        return cards.raw_card(self.market.coin_market(self._coin(args, "raw")))

    def cmd_raw_orderbook(self, who: Requester, args: list[str]) -> str:
        coin = self._coin(args, "raw_orderbook")
        venue, depth = self.market.orderbook(coin)
        return cards.orderbook_card(coin, venue, depth, self.zone, self.clock())

    def cmd_liq(self, who: Requester, args: list[str]) -> str | PhotoAnswer:
        coin = self._coin(args, "liq")
        card = cards.liquidations_card(coin, self.market.liquidations(coin))
        if self.charts is None:
            return card
        return self._pictured(
            "liq", card, lambda charts: charts.liquidations(coin, self.market.liquidation_history(coin), card)
        )

    def cmd_whale(self, who: Requester, args: list[str]) -> str:
        return cards.whales_card(self.market.whales(), self.zone, self.clock())

    def cmd_funding(self, who: Requester, args: list[str]) -> str:
        coin = self._coin(args, "funding")
        return cards.funding_card(coin, self.market.funding(coin))

    def cmd_oi(self, who: Requester, args: list[str]) -> str | PhotoAnswer:
        coin = self._coin(args, "oi")
        card = cards.open_interest_card(coin, self.market.open_interest(coin))
        if self.charts is None:
            return card
        return self._pictured(
            "oi", card, lambda charts: charts.open_interest(coin, self.market.open_interest_history(coin), card)
        )

    def cmd_chart(self, who: Requester, args: list[str]) -> str | PhotoAnswer:
        coin = symbol_argument(args, BY_NAME["chart"].usage)
        window_s = window_argument(args[1:], BY_NAME["chart"].usage)
        if self.charts is None:
            return "Charts are switched off for this alert system (CHARTS_ENABLED=false)."
        return self.charts.tape_chart(usdt_pair(coin), window_s)

    def _pictured(self, name: str, card: str, draw: Callable[[ChartAnswers], PhotoAnswer]) -> str | PhotoAnswer:
        """The card with its chart; the card alone when CoinGlass has no history for it (the plan, no data) or
        the chart cannot be drawn."""
        assert self.charts is not None
        try:
            return draw(self.charts)
        except (CoinGlassError, NoData) as exc:
            log.info("%s /%s chart left out: %s", LOG_MANUAL, name, exc)
        except Exception as exc:  # a picture that fails must not cost the answer
            log.exception("%s /%s chart failed: %s", LOG_MANUAL, name, type(exc).__name__)
        return card

    def cmd_rsi(self, who: Requester, args: list[str]) -> str:
        return cards.rsi_card(self.market.rsi(self._coin(args, "rsi")))

    def cmd_sentiment(self, who: Requester, args: list[str]) -> str:
        coin = self._coin(args, "sentiment") if args else "BTC"
        return cards.sentiment_card(self.market.sentiment(coin))

    # -- this chat's alerts ------------------------------------------------------------------------------

    def cmd_subscribe(self, who: Requester, args: list[str]) -> str:
        coin = symbol_argument(args, BY_NAME["subscribe"].usage)
        kinds = kinds_argument(args[1:])
        try:
            self.market.require_coin(coin)
        except CoinGlassError:
            pass  # CoinGlass down or out of budget: subscribing does not need it, only the typo check does
        before = self.chats.view(who.chat_id)
        coins = self.chats.subscribe(who.chat_id, coin, kinds)
        what = ", ".join(KIND_LABELS.get(k, k) for k in kinds) if kinds else "all alert kinds"
        lines = [f"✅ Subscribed this chat to {escape(coin)} ({escape(what)}).", f"Coins: {escape(', '.join(coins))}."]
        if before.configured and not before.symbols:
            lines.append("This chat got alerts for every coin; from now on only for its subscribed coins.")
        lines.append(
            "Alerts come from the alert bot, which must be a member of this chat (or started, in a private chat)."
        )
        return "\n".join(lines)

    def cmd_unsubscribe(self, who: Requester, args: list[str]) -> str:
        coin = symbol_argument(args, BY_NAME["unsubscribe"].usage)
        configured = self.chats.view(who.chat_id).configured
        remaining = self.chats.unsubscribe(who.chat_id, coin)
        if remaining is None:
            return f"This chat is not subscribed to {escape(coin)}. /alerts shows its subscriptions."
        if remaining:
            return f"Unsubscribed this chat from {escape(coin)}. Coins: {escape(', '.join(remaining))}."
        if configured:
            return (
                f"Unsubscribed this chat from {escape(coin)}. "
                "No coins left: as a configured alert chat it gets alerts for every coin again."
            )
        return (
            f"Unsubscribed this chat from {escape(coin)}. "
            "No coins left: this chat gets no alerts now. /subscribe SYMBOL to start again."
        )

    def cmd_alerts(self, who: Requester, args: list[str]) -> str:
        return self._describe(self.chats.view(who.chat_id))

    def _describe(self, view: ChatAlertView) -> str:
        rules, now = view.rules, self.clock()
        lines = ["🔔 <b>Alerts in this chat</b>"]
        if view.symbols:
            described = []
            for coin in view.symbols:
                kinds = view.fields.get(f"kinds:{coin}")
                described.append(f"{coin} ({kinds.replace(',', ', ')})" if kinds else f"{coin} (all kinds)")
            lines.append("Coins: " + escape(", ".join(described)))
        elif view.configured:
            lines.append("Coins: all (a configured alert chat)")
        else:
            lines.append("Coins: none. /subscribe SYMBOL to get alerts here.")
        thresholds = sorted(
            (k, v) for k, v in view.fields.items() if k.startswith(("liquidation_min_usd", "whale_min_usd"))
        )
        for name, value in thresholds:
            field, _, coin = name.partition(":")
            label = "liquidations" if field.startswith("liquidation") else "whales"
            try:
                amount = format_usd(float(value))
            except ValueError:
                amount = quoted(value)
            lines.append(f"Threshold: {escape(coin or 'every coin')} {label} from {escape(amount)}")
        if not thresholds:
            lines.append("Thresholds: the alert system's own")
        lines.append(f"Whale alerts: {'off' if rules.whales_off else 'on'}")
        lines.append(f"Muted: until {self._when(rules.muted_until)}" if rules.muted_until > now else "Muted: no")
        for problem in rules.problems:
            lines.append(f"⚠️ Ignored setting: {escape(problem)}")
        return "\n".join(lines)

    def cmd_threshold(self, who: Requester, args: list[str]) -> str:
        coin, field, usd = threshold_arguments(args, BY_NAME["threshold"].usage)
        self.chats.set_threshold(who.chat_id, coin, field, usd)
        whales = field.startswith("whale")
        rule = self.rules.rule_for(usdt_pair(coin), coin, "")
        floor = rule.whale_min_usd if whales else rule.liquidation_min_usd
        label = "whale" if whales else "liquidation"
        reply = f"✅ {escape(coin)} {label} alerts in this chat from {format_usd(usd)} up."
        if usd < floor:
            reply += (
                f"\nThe alert system itself starts at {format_usd(floor)} for {escape(coin)}, "
                "so smaller ones will not appear."
            )
        return reply

    def cmd_mute(self, who: Requester, args: list[str]) -> str:
        seconds = duration_argument(args, BY_NAME["mute"].usage)
        until = self.clock() + seconds
        self.chats.mute(who.chat_id, until)
        return f"🔕 Alerts muted in this chat until {self._when(until)}. /unmute to resume sooner."

    def cmd_unmute(self, who: Requester, args: list[str]) -> str:
        if self.chats.unmute(who.chat_id):
            return "🔔 Alerts resumed in this chat."
        return "This chat was not muted."

    def cmd_recap(self, who: Requester, args: list[str]) -> str:
        if self.charts is None:
            return "Charts are switched off for this alert system (CHARTS_ENABLED=false): no daily recap."
        return self.charts.recap(who.chat_id, args, BY_NAME["recap"].usage)

    def cmd_alerts_on_w(self, who: Requester, args: list[str]) -> str:
        self.chats.set_whale_alerts(who.chat_id, True)
        reply = "🐋 Whale alerts on in this chat."
        if not self.settings.rules.enable_whale_alerts:
            reply += "\nThey are switched off for the whole system, though (ENABLE_WHALE_ALERTS=false)."
        return reply

    def cmd_alerts_off_w(self, who: Requester, args: list[str]) -> str:
        self.chats.set_whale_alerts(who.chat_id, False)
        return "Whale alerts off in this chat. Liquidation and other alerts continue."

    def cmd_alerts_status(self, who: Requester, args: list[str]) -> str:
        view = self.chats.view(who.chat_id)
        source = whale_source(self.state.liveness, self.settings, self.clock())
        lines = [
            f"🐋 Whale alerts in this chat: {'off' if view.rules.whales_off else 'on'}",
            f"System-wide: {'on' if self.settings.rules.enable_whale_alerts else 'off (ENABLE_WHALE_ALERTS=false)'}",
            "Source: WebSocket stream"
            if source.mode == MODE_WEBSOCKET
            else f"Source: REST polling fallback ({escape(source.reason or '')})",
        ]
        return "\n".join(lines)

    def cmd_test_alert(self, who: Requester, args: list[str]) -> str:
        """A sample alert through the alert bot's real path (send_message task, rate limit, sender stages), so the
        chat sees whether the alert bot may post here and how alerts look."""
        now = self.clock()
        sample = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56_738.0, 2, 1_250_000.0, int(now * 1000))
        text = "\n".join(
            (
                f"🧪 TEST ALERT, asked for with /test_alert by user {who.user_id}: no market event happened.",
                format_event_alert(sample, self.zone),
            )
        )
        self.send_alert(who.chat_id, text, f"test-alert-{who.chat_id}-{int(now * 1000)}")
        return (
            "🧪 A test alert is on its way from the alert bot to this chat. If none arrives within a minute, the alert "
            "bot cannot post here: add it to this chat (in a private chat, start it), then try again."
        )

    # -- the system ------------------------------------------------------------------------------------

    def cmd_status(self, who: Requester, args: list[str]) -> str:
        now = self.clock()
        source = whale_source(self.state.liveness, self.settings, now)
        report = gather(source.listener or {}, self.state, now)
        return status_card(report, source.mode, source.reason, self.state.ledger.messages_sent_since(3600, now))

    def cmd_help(self, who: Requester, args: list[str]) -> str:
        return help_text()

    def cmd_start(self, who: Requester, args: list[str]) -> str:
        return (
            "👋 <b>TELEGLAS</b>: real-time crypto-derivatives alerts and market data.\n"
            "Automatic alerts come from the alert bot; this bot answers commands.\n\n" + help_text()
        )

    def _when(self, at: float) -> str:
        moment = datetime.fromtimestamp(at, tz=self.zone)
        same_day = moment.date() == datetime.fromtimestamp(self.clock(), tz=self.zone).date()
        return moment.strftime("%H:%M %Z" if same_day else "%Y-%m-%d %H:%M %Z")


def status_card(report: dict[str, Any], mode: str, reason: str | None, sent_last_hour: int) -> str:
    if not report.get("redis_reachable"):
        return "🩺 <b>TELEGLAS status</b>\nRedis is unreachable: the alert system cannot work until it is back."
    if mode == MODE_WEBSOCKET:
        age = report.get("last_event_age_s")
        stream = "connected" + ("" if age is None else f", last event {_age(age)} ago")
    else:
        stream = f"not streaming: REST polling fallback ({escape(reason or '')})"
    queues = report.get("queues") or {}
    beat = report.get("worker_heartbeat_age_s")
    workers = f"{report.get('workers', 0)}, last heartbeat {_age(beat)} ago" if beat is not None else "none running"
    return "\n".join(
        (
            "🩺 <b>TELEGLAS status</b>",
            f"WebSocket: {stream}",
            "Queues: " + " · ".join(f"{escape(name)} {depth}" for name, depth in queues.items()),
            f"Workers: {workers}",
            f"Messages sent in the last hour: {sent_last_hour}",
            f"Dead letters: {report.get('dead_letters', 0)}",
        )
    )


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
