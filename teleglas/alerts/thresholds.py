"""Whether an event is big enough to alert on. No I/O: the below-threshold fast path costs nothing."""
from __future__ import annotations

from teleglas.coinglass.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.settings import Settings


def qualifies(event: MarketEvent, settings: Settings) -> bool:
    if isinstance(event, LiquidationOrder):
        return event.usd >= settings.liquidation_min_usd
    if isinstance(event, FuturesTrade):
        return settings.enable_whale_alerts and event.usd >= settings.whale_min_usd
    return False
