"""The composition root: every object the tasks use, built once per process from the one Settings.

Lower rooms take plain values and ports; this is where they are plugged together (Redis clients, the Celery
app as the publisher of sends, the due-work set as the place of every delay).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

import redis

from teleglas.celery import app
from teleglas.dashboard.price_moves import PriceMoveTracker
from teleglas.decide.engine import Engine
from teleglas.decide.fanout import FanOut
from teleglas.decide.polled import Poller
from teleglas.decide.rules import rules_from_settings
from teleglas.defines import (
    MATCH_KEEP_S,
    MATCH_TIME_TOLERANCE_MS,
    MATCH_USD_TOLERANCE,
    QUEUE_CHARTS,
    QUEUE_TELEGRAM,
    TASK_RENDER_CHART,
    TASK_SEND_MESSAGE,
)
from teleglas.deliver.ratelimit import RateLimiter, RateLimits
from teleglas.deliver.sender import Sender
from teleglas.deliver.telegram import TelegramClient
from teleglas.model.alerts import Send
from teleglas.model.charts import ChartSpec
from teleglas.model.chat import ChatId
from teleglas.ops.metrics import recorder
from teleglas.settings import Settings, get_settings
from teleglas.source.coinglass.rest import CoinGlassRest
from teleglas.state.budgets import RestBudget, RestCache
from teleglas.state.buffer import shared_buffer
from teleglas.state.charts import ChartStore
from teleglas.state.chats import ChatState
from teleglas.state.checks import CheckState
from teleglas.state.claims import DeliveryLedger, StartupClaims
from teleglas.state.client import redis_client
from teleglas.state.crossmatch import CrossSourceMatch
from teleglas.state.deadletters import DeadLetters
from teleglas.state.due import DueTask, DueWork
from teleglas.state.engine import EngineStore
from teleglas.state.history import AlertHistory, history_from_settings
from teleglas.state.liveness import Liveness
from teleglas.state.tape import MarketTape, TapeReader
from teleglas.tasks.dispatch import Dispatcher, recheck_task, send_retry_task, send_task_args

if TYPE_CHECKING:
    from teleglas.charts.recap import Recaps


def settings() -> Settings:
    return get_settings()


def client() -> redis.Redis:
    return redis_client(settings().redis.url)


@functools.lru_cache(maxsize=1)
def chats() -> ChatState:
    return ChatState(client())


@functools.lru_cache(maxsize=1)
def dead_letters() -> DeadLetters:
    return DeadLetters(client())


def startup_claims() -> StartupClaims:
    return StartupClaims(client())


def limits() -> RateLimits:
    return RateLimits.from_settings(settings())


@functools.lru_cache(maxsize=1)
def due() -> DueWork:
    return DueWork(client())


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    """Raises RulesError for a rules file that cannot be used (the worker stops at start)."""
    return Engine(rules_from_settings(settings().rules), EngineStore(client()), settings(), recorder())


@functools.lru_cache(maxsize=1)
def cross_match() -> CrossSourceMatch:
    return CrossSourceMatch(
        client(), MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, settings().sources.sources
    )


@functools.lru_cache(maxsize=1)
def fanout() -> FanOut:
    return FanOut(chats(), dead_letters(), EngineStore(client()), settings(), limits().spacing, recorder())


@functools.lru_cache(maxsize=1)
def history() -> AlertHistory:
    return history_from_settings(client(), settings())


@functools.lru_cache(maxsize=1)
def market_tape() -> MarketTape:
    return MarketTape(shared_buffer())


def publish_send(send: Send, origin_ms: int | None) -> None:
    app.send_task(TASK_SEND_MESSAGE, args=send_task_args(send, origin_ms), queue=QUEUE_TELEGRAM)


def later(task: DueTask, delay_s: float, keep_earlier: bool = False) -> None:
    due().schedule(task, delay_s, keep_earlier)


@functools.lru_cache(maxsize=1)
def chart_store() -> ChartStore:
    return ChartStore(client(), settings().charts.ttl_s)


@functools.lru_cache(maxsize=1)
def tape_reader() -> TapeReader:
    return TapeReader(client())


def render_chart(spec: ChartSpec, sends: list[Send], origin_ms: int | None) -> None:
    """Sends with a chart: each text is scheduled CHART_RENDER_TIMEOUT from now, under the key its photo send
    will replace it with (teleglas.tasks.charts), and one render task is published. Nothing waits for it."""
    args = [send_task_args(send, origin_ms) for send in sends]
    for send_args in args:
        later(send_retry_task(send_args, {}), settings().charts.render_timeout_s)
    app.send_task(TASK_RENDER_CHART, args=(spec.to_payload(), [list(a) for a in args], time.time()), queue=QUEUE_CHARTS)


def load_charts() -> None:
    """matplotlib, and every module that draws: tens of MB, so only for processes that render (imported here at
    first use, or by a charts worker before its pool forks: teleglas.tasks.charts)."""
    import teleglas.charts.alerts
    import teleglas.charts.recap  # noqa: F401


def alert_chart_png(spec: ChartSpec, timeout_s: float) -> bytes:
    """Each picture is drawn in a child forked from this process (teleglas.charts.apart)."""
    from teleglas.charts.alerts import alert_chart_png as draw
    from teleglas.charts.apart import render_apart

    apart = functools.partial(render_apart, timeout_s=timeout_s)
    return draw(spec, tape_reader().liquidation_bars, settings().timezone, apart)


@functools.lru_cache(maxsize=1)
def recaps() -> Recaps:
    from teleglas.charts.apart import render_apart
    from teleglas.charts.recap import Recaps

    def send_photo(chat_id: ChatId, text: str, alert_id: str, current_ms: int, chart_id: str) -> None:
        later(send_retry_task((chat_id, text, alert_id, None, current_ms), {"photo": chart_id}), 0.0)

    return Recaps(
        chats(),
        tape_reader(),
        history(),
        chart_store(),
        lambda task, delay: later(task, delay),
        send_photo,
        settings().timezone,
        functools.partial(render_apart, timeout_s=settings().charts.render_timeout_s),
    )


@functools.lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    render = render_chart if settings().charts.enabled else None
    return Dispatcher(fanout(), history(), send=publish_send, later=later, render=render)


@functools.lru_cache(maxsize=1)
def sender() -> Sender:
    s = settings()
    telegram = TelegramClient(s.telegram.api_url, s.telegram.alert_token, s.telegram.timeout_s)
    return Sender(
        telegram,
        DeliveryLedger(client()),
        chats(),
        dead_letters(),
        RateLimiter(client(), telegram.bot_id, limits()),
        s,
        metrics=recorder(),
        history=history(),
        recheck=lambda chat: later(recheck_task(chat), s.delivery.chat_recheck_interval_s, True),
        charts=chart_store(),
    )


@functools.lru_cache(maxsize=1)
def poller() -> Poller:
    s = settings()
    rest = CoinGlassRest(
        s.coinglass.api_url,
        s.coinglass.api_key,
        RestBudget(client()),
        RestCache(client()),
        s.coinglass.requests_per_minute,
        s.coinglass.timeout_s,
    )
    return Poller(rest, engine(), CheckState(client()), Liveness(client()), s)


@functools.lru_cache(maxsize=1)
def price_moves() -> PriceMoveTracker:
    return PriceMoveTracker(poller().rest, history(), settings().beat.price_move_exchange)
