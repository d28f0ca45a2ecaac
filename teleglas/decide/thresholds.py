"""Whether an event is big enough to alert on. No I/O: the below-threshold fast path costs nothing."""

from __future__ import annotations

from teleglas.decide.rules import Rule
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent, WhalePosition


def qualifies(event: MarketEvent, rule: Rule, whale_alerts_enabled: bool) -> bool:
    if isinstance(event, LiquidationOrder):
        return event.usd >= rule.liquidation_min_usd
    if isinstance(event, (FuturesTrade, WhalePosition)):
        return whale_alerts_enabled and event.usd >= rule.whale_min_usd
    return False
