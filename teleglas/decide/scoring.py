"""Whale confidence score, 0–100: how much a whale trade looks like conviction rather than noise.

Three named factors, each bounded, so the score can be read back as an explanation:
- size (up to 40): the trade against its symbol's whale threshold, on a log scale; 1× gives 0, 10× or more 40;
- flow (up to 30): same-side whale trades on the symbol in the recent window; 3 or more give the full 30;
- liquidations (up to 30): recent liquidations that agree with the trade (a buy while shorts are forced to
  close, a sell while longs are), against those that disagree; the liquidation threshold damps small totals.
The score never falls when the trade grows, when more same-side whales appear or when agreeing liquidations
grow, and never rises when disagreeing liquidations grow (pinned by property tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SIZE_POINTS = 40.0
FLOW_POINTS = 30.0
LIQUIDATION_POINTS = 30.0
FLOW_FULL_AT = 3
SIZE_FULL_AT_MULTIPLE = 10.0


@dataclass(frozen=True, slots=True)
class WhaleContext:
    same_side_whales: int  # other qualifying whale trades on this symbol and side in the window
    agreeing_liquidations_usd: float
    opposing_liquidations_usd: float


@dataclass(frozen=True, slots=True)
class WhaleScore:
    size: float
    flow: float
    liquidations: float

    @property
    def total(self) -> int:
        return max(0, min(100, round(self.size + self.flow + self.liquidations)))


def whale_score(usd: float, whale_min_usd: float, liquidation_min_usd: float, context: WhaleContext) -> WhaleScore:
    multiple = usd / whale_min_usd if whale_min_usd > 0 else SIZE_FULL_AT_MULTIPLE
    size = SIZE_POINTS * min(1.0, math.log10(max(multiple, 1.0)) / math.log10(SIZE_FULL_AT_MULTIPLE))
    flow = FLOW_POINTS * min(1.0, max(context.same_side_whales, 0) / FLOW_FULL_AT)
    agree = max(context.agreeing_liquidations_usd, 0.0)
    oppose = max(context.opposing_liquidations_usd, 0.0)
    liquidations = LIQUIDATION_POINTS * agree / (agree + oppose + max(liquidation_min_usd, 1.0))
    return WhaleScore(size, flow, liquidations)


def agreeing_liquidation_side(whale_side_name: str) -> str:
    """A taker buy (or a whale going long) agrees with shorts being liquidated (forced buys); a sell or a
    short with longs."""
    return "SHORT" if whale_side_name in ("BUY", "LONG") else "LONG"
