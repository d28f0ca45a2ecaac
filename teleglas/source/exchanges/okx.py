"""OKX v5 public stream (docs/protocols.md, Exchanges): `liquidation-orders` for every SWAP instrument (one
subscription by instType) and `trades` per instrument, subscribed with `{"op": "subscribe", "args": [{...}]}`;
the client sends the text `ping` well inside OKX's 30 s idle cut and reads `pong`; notice 64008 announces a
disconnect for an upgrade. No key.

OKX counts SWAP sizes in contracts: the USD value needs each instrument's contract value from the public REST
API (`GET /api/v5/public/instruments?instType=SWAP`), which Contracts keeps and refreshes. An item of an
instrument not (yet) in that table is rejected and asks for a refresh. parse_frame never raises.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from teleglas.defines import (
    EXCHANGE_OF_SOURCE,
    LOG_WS,
    OKX_INSTRUMENTS_PATH,
    OKX_LIQUIDATIONS,
    OKX_PING_INTERVAL_S,
    OKX_SWAP,
    OKX_TRADES,
    OKX_UPGRADE_NOTICE,
    SOURCE_OKX,
    WS_PING,
    WS_PONG,
)
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.source.exchanges.common import decode, label, shown, split_pair, usd
from teleglas.source.fields import FieldError, first, number, text, time_ms
from teleglas.source.frames import FrameKind, ParsedFrame
from teleglas.source.wire import Wire

log = logging.getLogger(__name__)
EXCHANGE = EXCHANGE_OF_SOURCE[SOURCE_OKX]
_TAKER = {"sell": 1, "buy": 2}
_POSITION = {"long": 1, "short": 2}
# In net mode posSide is `net`: the closing order's side names the position (a sell closes a long).
_CLOSED_BY = {"sell": 1, "buy": 2}


@dataclass(frozen=True, slots=True)
class Contract:
    value: float  # ctVal × ctMult: base-asset coins (linear) or USD (inverse) per contract
    inverse: bool


class OkxRestError(RuntimeError):
    """The instruments endpoint answered with something other than a usable list."""


def inst_id(symbol: str) -> str:
    """`BTCUSDT` → `BTC-USDT-SWAP`, OKX's perpetual of the pair."""
    base, quote = split_pair(symbol)
    return f"{base}-{quote}-{OKX_SWAP}"


def channels(trade_symbols: tuple[str, ...]) -> tuple[str, ...]:
    """`channel:instType` or `channel:instId`, the labels parse_frame gives the frames of each."""
    return (f"{OKX_LIQUIDATIONS}:{OKX_SWAP}", *(f"{OKX_TRADES}:{inst_id(s)}" for s in trade_symbols))


def _arg(channel: str) -> dict[str, str]:
    name, _, target = channel.partition(":")
    return {"channel": name, ("instType" if name == OKX_LIQUIDATIONS else "instId"): target}


def wire(url: str) -> Wire:
    return Wire(
        source=SOURCE_OKX,
        url=url,
        subscribe=lambda names: [json.dumps({"op": "subscribe", "args": [_arg(c) for c in names]})],
        unsubscribe=lambda names: [json.dumps({"op": "unsubscribe", "args": [_arg(c) for c in names]})],
        ping=WS_PING,
        is_pong=lambda frame_text: frame_text == WS_PONG,
        ping_interval_s=OKX_PING_INTERVAL_S,
        closing_notice=is_closing_notice,
    )


def is_closing_notice(frame_text: str) -> bool:
    if OKX_UPGRADE_NOTICE not in frame_text:
        return False
    message = decode(frame_text)
    return isinstance(message, dict) and message.get("event") == "notice" and message.get("code") == OKX_UPGRADE_NOTICE


class Contracts:
    """The SWAP contract values, fetched at start and every `refresh_s`, sooner (at most every `retry_s`) when a
    frame names an instrument the table lacks; a failed fetch keeps the last table and tries again after
    `retry_s`."""

    def __init__(self, fetch: Callable[[], dict[str, Contract]], refresh_s: float, retry_s: float):
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._table: dict[str, Contract] = {}
        self._wanted = threading.Event()

    def get(self, instrument: str) -> Contract | None:
        found = self._table.get(instrument)
        if found is None:
            self._wanted.set()
        return found

    def load(self) -> bool:
        try:
            table = self._fetch()
        except (OkxRestError, requests.RequestException, ValueError) as exc:
            log.warning("%s okx instruments not read (%s): OKX items wait for contract sizes", LOG_WS, exc)
            return False
        self._table = table
        self._wanted.clear()
        log.info("%s okx contract sizes of %d SWAP instruments read", LOG_WS, len(table))
        return True

    def run(self, stop: threading.Event) -> None:
        """Keeps the table fresh until `stop`; for the listener's own thread."""
        while not stop.is_set():
            due = time.monotonic() + (self._refresh_s if self.load() else self._retry_s)
            if stop.wait(self._retry_s):
                return
            while time.monotonic() < due and not self._wanted.is_set() and not stop.wait(1.0):
                pass


def fetch_instruments(rest_url: str, timeout_s: float = 10.0) -> dict[str, Contract]:
    response = requests.get(f"{rest_url}{OKX_INSTRUMENTS_PATH}", params={"instType": OKX_SWAP}, timeout=timeout_s)
    if response.status_code != 200:
        raise OkxRestError(f"HTTP {response.status_code}")
    table, rejected = parse_instruments(response.json())
    for reason in rejected:
        log.warning("%s okx instrument rejected: %s", LOG_WS, reason)
    return table


def parse_instruments(payload: Any) -> tuple[dict[str, Contract], list[str]]:
    """`{"code": "0", "data": [...]}` → instId → Contract; a bad record is rejected with a reason."""
    code = payload.get("code") if isinstance(payload, dict) else None
    if code not in ("0", 0) or type(code) is bool:
        raise OkxRestError(f"answer code {shown(code)}")
    records = payload.get("data")
    if not isinstance(records, list):
        raise OkxRestError("data is not a list")
    table: dict[str, Contract] = {}
    rejected = []
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise FieldError("record is not an object")
            kind = record.get("ctType")
            if kind not in ("linear", "inverse"):
                raise FieldError(f"ctType {shown(kind)} is neither linear nor inverse")
            multiplier = record.get("ctMult")
            value = number(first(record, "ctVal"), "ctVal", allow_zero=False) * (
                1.0 if multiplier in (None, "") else number(multiplier, "ctMult", allow_zero=False)
            )
            table[text(first(record, "instId"), "instId")] = Contract(value, kind == "inverse")
        except FieldError as exc:
            rejected.append(f"record {index}: {exc}")
    return table, rejected


class OkxParser:
    def __init__(self, contracts: Contracts):
        self.contracts = contracts

    def __call__(self, frame_text: str | bytes) -> ParsedFrame:
        if frame_text == WS_PONG:
            return ParsedFrame(FrameKind.PONG)
        message = decode(frame_text)
        if isinstance(message, ParsedFrame):
            return message
        if not isinstance(message, dict):
            return ParsedFrame(FrameKind.MALFORMED, reason=f"JSON {type(message).__name__}, not an object")
        event = message.get("event")
        if event in ("subscribe", "unsubscribe"):
            return ParsedFrame(FrameKind.ACK)
        if event is not None:
            reason = f"event {shown(event)} {shown(message.get('code'))}: {shown(message.get('msg'))}"
            return ParsedFrame(FrameKind.UNKNOWN, reason=reason)
        arg, items = message.get("arg"), message.get("data")
        if not isinstance(arg, dict) or items is None:
            return ParsedFrame(FrameKind.UNKNOWN, reason="no arg/data (not a data frame)")
        name = arg.get("channel")
        if name == OKX_LIQUIDATIONS:
            channel, parse = f"{OKX_LIQUIDATIONS}:{label(arg.get('instType'), '?')}", self._liquidations
        elif name == OKX_TRADES:
            channel, parse = f"{OKX_TRADES}:{label(arg.get('instId'), '?')}", self._trade
        else:
            return ParsedFrame(FrameKind.UNKNOWN, channel=label(name, "other"), reason="unknown channel")
        if not isinstance(items, list):
            return ParsedFrame(FrameKind.MALFORMED, channel=channel, reason="data is not a list")
        frame = ParsedFrame(FrameKind.DATA, channel=channel)
        for index, item in enumerate(items):
            parse(item, index, frame)
        return frame

    def _liquidations(self, item: Any, index: int, frame: ParsedFrame) -> None:
        """One data entry per instrument, each with a `details` array: every detail is an order."""
        try:
            if not isinstance(item, dict):
                raise FieldError(f"item is {type(item).__name__}, not an object")
            details = item.get("details")
            if not isinstance(details, list):
                raise FieldError("details is not a list")
            instrument = self._instrument(item)
        except FieldError as exc:
            frame.rejected.append(f"item {index}: {exc}")
            return
        for number_in_item, detail in enumerate(details):
            try:
                if not isinstance(detail, dict):
                    raise FieldError("detail is not an object")
                frame.events.append(
                    LiquidationOrder(**self._sized(instrument, detail, "bkPx"), side=_liquidated_side(detail))
                )
            except FieldError as exc:
                frame.rejected.append(f"item {index}.{number_in_item}: {exc}")

    def _trade(self, item: Any, index: int, frame: ParsedFrame) -> None:
        try:
            if not isinstance(item, dict):
                raise FieldError(f"item is {type(item).__name__}, not an object")
            side = item.get("side")
            if not isinstance(side, str) or side not in _TAKER:
                raise FieldError(f"side {shown(side)} is not one of {sorted(_TAKER)}")
            event: MarketEvent = FuturesTrade(**self._sized(self._instrument(item), item, "px"), side=_TAKER[side])
        except FieldError as exc:
            frame.rejected.append(f"item {index}: {exc}")
            return
        frame.events.append(event)

    def _instrument(self, item: dict[str, Any]) -> tuple[str, str, str, Contract]:
        instrument = text(first(item, "instId"), "instId")
        base, _, rest = instrument.partition("-")
        quote = rest.partition("-")[0]
        if not base or not quote:
            raise FieldError("instId is not BASE-QUOTE-…")
        contract = self.contracts.get(instrument)
        if contract is None:
            raise FieldError(f"no contract size for {instrument[:32]!r} yet")
        return instrument, base.upper(), quote.upper(), contract

    @staticmethod
    def _sized(instrument: tuple[str, str, str, Contract], item: dict[str, Any], price_field: str) -> dict[str, Any]:
        _, base, quote, contract = instrument
        price = number(first(item, price_field), price_field, allow_zero=False)
        contracts = number(first(item, "sz"), "sz")
        return {
            "exchange": EXCHANGE,
            "symbol": f"{base}{quote}",
            "base_asset": base,
            "price": price,
            "usd": usd(contracts, contract.value) if contract.inverse else usd(price, contracts * contract.value),
            "time_ms": time_ms(first(item, "ts"), "ts"),
        }


def _liquidated_side(detail: dict[str, Any]) -> int:
    position = detail.get("posSide")
    if isinstance(position, str) and position in _POSITION:
        return _POSITION[position]
    side = detail.get("side")
    if position in ("net", "", None) and isinstance(side, str) and side in _CLOSED_BY:
        return _CLOSED_BY[side]
    raise FieldError(f"posSide {shown(position)} / side {shown(side)} name no position")
