"""REST `data` payloads → typed records. Outside input: each record is parsed on its own, a bad one is
rejected with a reason and the rest kept; numbers may come as JSON numbers or as strings."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from teleglas.coinglass.events import WhalePosition

HYPERLIQUID = "Hyperliquid"


@dataclass(frozen=True, slots=True)
class FundingRate:
    symbol: str
    exchange: str
    rate_pct: float  # percent per funding interval, as CoinGlass gives it
    interval_h: float | None
    next_funding_ms: int | None
    margin: str  # stablecoin or token


@dataclass(frozen=True, slots=True)
class OpenInterest:
    symbol: str
    usd: float


def _number(record: dict, name: str) -> float:
    value = record.get(name)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"missing or non-numeric {name!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name!r} is not finite")
    return number


def _text(record: dict, name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"missing {name!r}")
    return value.strip()[:64]


def parse_whale_alerts(data: Any) -> tuple[list[WhalePosition], list[str]]:
    """`/api/hyperliquid/whale-alert` records: the sign of position_size is the side (+ long, − short)."""
    if not isinstance(data, list):
        return [], [f"whale alerts: data is {type(data).__name__}, not a list"]
    events, rejected = [], []
    for index, record in enumerate(data):
        try:
            if not isinstance(record, dict):
                raise ValueError("not an object")
            size = _number(record, "position_size")
            if size == 0:
                raise ValueError("position_size is 0")
            action = int(_number(record, "position_action"))
            if action not in (1, 2):
                raise ValueError(f"position_action {action}")
            symbol = _text(record, "symbol")
            events.append(WhalePosition(
                exchange=HYPERLIQUID, symbol=symbol, base_asset=symbol, price=_number(record, "entry_price"),
                side=1 if size > 0 else 2, usd=abs(_number(record, "position_value_usd")),
                time_ms=int(_number(record, "create_time")), user=_text(record, "user"), action=action,
            ))
        except (ValueError, TypeError, OverflowError) as exc:
            rejected.append(f"whale alert {index}: {exc}")
    return events, rejected


def parse_funding_rates(data: Any) -> tuple[list[FundingRate], list[str]]:
    """`/api/futures/funding-rate/exchange-list`: per symbol, stablecoin- and token-margined lists."""
    if not isinstance(data, list):
        return [], [f"funding rates: data is {type(data).__name__}, not a list"]
    rates, rejected = [], []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
            rejected.append(f"funding item {index}: no symbol")
            continue
        for margin in ("stablecoin", "token"):
            for entry in item.get(f"{margin}_margin_list") or []:
                try:
                    if not isinstance(entry, dict):
                        raise ValueError("not an object")
                    interval = entry.get("funding_rate_interval")
                    next_time = entry.get("next_funding_time")
                    rates.append(FundingRate(
                        symbol=item["symbol"].strip()[:32], exchange=_text(entry, "exchange"), rate_pct=_number(entry, "funding_rate"),
                        interval_h=float(interval) if interval not in (None, "") else None,
                        next_funding_ms=int(float(next_time)) if next_time not in (None, "") else None, margin=margin,
                    ))
                except (ValueError, TypeError, OverflowError) as exc:
                    rejected.append(f"funding {item['symbol'][:32]} {margin}: {exc}")
    return rates, rejected


def parse_open_interest(data: Any, symbol: str) -> OpenInterest:
    """`/api/futures/open-interest/exchange-list`: the `All` row is the aggregate; without it, the sum."""
    if not isinstance(data, list) or not data:
        raise ValueError(f"open interest {symbol}: no rows")
    rows = [row for row in data if isinstance(row, dict)]
    total = next((row for row in rows if str(row.get("exchange", "")).lower() == "all"), None)
    if total is not None:
        return OpenInterest(symbol, _number(total, "open_interest_usd"))
    return OpenInterest(symbol, sum(_number(row, "open_interest_usd") for row in rows))
