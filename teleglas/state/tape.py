"""What the stream did, for the dashboard's market view: USD liquidated by symbol and side per 10 s bucket,
and the largest orders (liquidations and whale trades) of each minute.

The workers record every event they evaluate, not only the ones that alert, through the process's RedisBuffer
(one pipeline a second). Buckets follow the event's exchange time, so a backlog still lands where it
happened. A batch Celery redelivers is counted again: the tape is a picture of the market, not an account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from teleglas.defines import KIND_LIQUIDATION
from teleglas.model.events import MarketEvent
from teleglas.state.buffer import RedisBuffer
from teleglas.state.keys import tape_largest_key, tape_liquidations_key

BUCKET_S = 10
KEEP_S = 2 * 3600
LARGEST_PER_MINUTE = 10
_COUNT_SUFFIX = "|n"


@dataclass(frozen=True, slots=True)
class LiquidationCell:
    symbol: str
    side: str
    usd: float
    count: int


def liquidation_field(symbol: str, side: str) -> str:
    # The side is ours (LONG/SHORT) and goes first; the symbol is outside text and may hold "|".
    return f"{side}|{symbol}"


def parse_liquidation_bucket(fields: dict[bytes, bytes]) -> list[LiquidationCell]:
    """A bucket hash read back; fields this version did not write are skipped."""
    usd: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], int] = {}
    for raw_key, raw_value in fields.items():
        key = raw_key.decode("utf-8", "replace")
        is_count = key.endswith(_COUNT_SUFFIX)
        side, _, symbol = (key[: -len(_COUNT_SUFFIX)] if is_count else key).partition("|")
        try:
            value = float(raw_value)
        except ValueError:
            continue
        if is_count:
            counts[(symbol, side)] = int(value)
        else:
            usd[(symbol, side)] = value
    return [
        LiquidationCell(symbol, side, value, counts.get((symbol, side), 0)) for (symbol, side), value in usd.items()
    ]


def order_member(event: MarketEvent) -> str:
    return json.dumps(
        {
            "kind": event.kind,
            "exchange": event.exchange,
            "symbol": event.symbol,
            "side": event.side_name,
            "usd": event.usd,
            "price": event.price,
            "time_ms": event.time_ms,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class MarketTape:
    def __init__(self, buffer: RedisBuffer):
        self._buffer = buffer

    def record(self, event: MarketEvent) -> None:
        seconds = event.time_ms // 1000
        if event.kind == KIND_LIQUIDATION:
            key = tape_liquidations_key(seconds // BUCKET_S * BUCKET_S)
            field = liquidation_field(event.symbol, event.side_name)
            self._buffer.add(key, field, float(event.usd), KEEP_S)
            self._buffer.add(key, field + _COUNT_SUFFIX, 1.0, KEEP_S)
        self._buffer.keep_top(
            tape_largest_key(seconds // 60), float(event.usd), lambda: order_member(event), LARGEST_PER_MINUTE, KEEP_S
        )
