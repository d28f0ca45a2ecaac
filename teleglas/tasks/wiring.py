"""The composition root: every object the tasks use, built once per process from the one Settings.

Lower rooms take plain values and ports; this is where they are plugged together (Redis clients, the Celery
app as the publisher of sends, the due-work set as the place of every delay).
"""

from __future__ import annotations

import functools

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
    QUEUE_TELEGRAM,
    TASK_SEND_MESSAGE,
)
from teleglas.deliver.ratelimit import RateLimiter, RateLimits
from teleglas.deliver.sender import Sender
from teleglas.deliver.telegram import TelegramClient
from teleglas.model.alerts import Send
from teleglas.ops.metrics import recorder
from teleglas.settings import Settings, get_settings
from teleglas.source.coinglass.rest import CoinGlassRest
from teleglas.state.budgets import RestBudget, RestCache
from teleglas.state.buffer import shared_buffer
from teleglas.state.chats import ChatState
from teleglas.state.checks import CheckState
from teleglas.state.claims import DeliveryLedger, EventClaims, StartupClaims
from teleglas.state.client import redis_client
from teleglas.state.crossmatch import CrossSourceMatch
from teleglas.state.deadletters import DeadLetters
from teleglas.state.due import DueTask, DueWork
from teleglas.state.engine import EngineStore
from teleglas.state.history import AlertHistory, history_from_settings
from teleglas.state.liveness import Liveness
from teleglas.state.tape import MarketTape
from teleglas.tasks.dispatch import Dispatcher, recheck_task, send_task_args


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
    return Engine(
        rules_from_settings(settings().rules), EventClaims(client()), EngineStore(client()), settings(), recorder()
    )


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
def dispatcher() -> Dispatcher:
    return Dispatcher(fanout(), history(), send=publish_send, later=later)


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
