"""Each source of SOURCES as the listener runs it: the venue's Wire and channels on StreamConnections, a
FrameRouter with the venue's parser, and whatever upkeep the venue needs (OKX's contract sizes). Built from the
one Settings, here in the listener's composition root; the venue modules take plain values."""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from teleglas.defines import (
    CHANNEL_FUTURES_TRADES,
    LOG_RUNNER,
    OKX_INSTRUMENTS_REFRESH_S,
    OKX_INSTRUMENTS_RETRY_S,
    SOURCE_BINANCE,
    SOURCE_BYBIT,
    SOURCE_COINGLASS,
    SOURCE_OKX,
)
from teleglas.settings import Settings
from teleglas.source.connection import StreamConfig, StreamConnection
from teleglas.source.exchanges import binance, bybit, okx
from teleglas.source.listener.frame_router import FrameRouter
from teleglas.source.listener.publisher import EventPublisher
from teleglas.source.listener.status import SourceRun
from teleglas.source.wire import Wire

log = logging.getLogger(__name__)


def stream_config(settings: Settings) -> StreamConfig:
    """CoinGlass's connection; the exchanges' take the same timing with their own Wire."""
    return StreamConfig(
        base_url=settings.coinglass.ws_url,
        api_key=settings.coinglass.api_key_ws,
        channels=settings.ws.channels,
        ping_interval_s=settings.ws.ping_interval_s,
        pong_timeout_s=settings.ws.pong_timeout_s,
        connect_timeout_s=settings.ws.connect_timeout_s,
        reconnect_delay_s=settings.ws.reconnect_delay_s,
        max_reconnect_delay_s=settings.ws.reconnect_max_delay_s,
        healthy_reset_s=settings.ws.healthy_reset_s,
        close_timeout_s=settings.ws.close_timeout_s,
    )


def build_sources(settings: Settings, sources: tuple[str, ...], publisher: EventPublisher) -> list[SourceRun]:
    return [_build(settings, source, publisher) for source in sources]


def _build(settings: Settings, source: str, publisher: EventPublisher) -> SourceRun:
    s = settings.sources
    if source == SOURCE_COINGLASS:
        channels = settings.ws.channels
        router = FrameRouter(publisher, settings.ws.max_message_bytes, channels)
        whales = any(c.startswith(CHANNEL_FUTURES_TRADES) for c in channels)
        return SourceRun(source, channels, router, [StreamConnection(stream_config(settings), router)], whales)
    upkeep = []
    if source == SOURCE_BINANCE:
        if "/market" not in urlsplit(s.binance_ws_url).path:
            log.warning(
                "%s BINANCE_FUTURES_WS_URL has no /market route: since 2026-04-23 Binance acknowledges forceOrder and "
                "aggTrade subscriptions there and sends nothing",
                LOG_RUNNER,
            )
        channels = binance.channels(s.trade_symbols)
        groups = [
            (binance.wire(s.binance_ws_url, s.binance_silence_s), names) for names in binance.per_connection(channels)
        ]
        parse = binance.parse_frame
    elif source == SOURCE_BYBIT:
        channels = bybit.channels(s.liquidation_symbols, s.trade_symbols)
        groups, parse = [(bybit.wire(s.bybit_ws_url), channels)], bybit.parse_frame
    elif source == SOURCE_OKX:
        channels = okx.channels(s.trade_symbols)
        contracts = okx.Contracts(
            lambda: okx.fetch_instruments(s.okx_rest_url), OKX_INSTRUMENTS_REFRESH_S, OKX_INSTRUMENTS_RETRY_S
        )
        groups, parse = [(okx.wire(s.okx_ws_url), channels)], okx.OkxParser(contracts)
        upkeep.append(contracts.run)
    else:
        raise ValueError(f"unknown source {source!r}")
    router = FrameRouter(publisher, settings.ws.max_message_bytes, channels, parse, source, s.trade_min_usd)
    connections = [StreamConnection(_config(settings, wire, names), router) for wire, names in groups]
    return SourceRun(source, channels, router, connections, bool(s.trade_symbols), upkeep)


def _config(settings: Settings, wire: Wire, channels: tuple[str, ...]) -> StreamConfig:
    return replace(stream_config(settings), base_url=wire.url, api_key="", channels=channels, wire=wire)
