"""What celery beat drives: the whale fallback poll, the funding and open-interest checks, the start-up notice.
Plain functions over the REST client, the engine and the checks' state; the beat tasks only call them.

Two beat processes by mistake cannot double an alert: whale records go through the engine's event claim
(their fingerprint), funding decisions through an optimistic Redis transaction per symbol/exchange/margin,
open-interest alerts through a claim per symbol and cooldown.
"""

from __future__ import annotations

import functools
import logging

from teleglas.decide import market_checks as checks
from teleglas.decide.engine import Engine
from teleglas.defines import KIND_FUNDING, KIND_OPEN_INTEREST, KIND_SYSTEM, LOG_RUNNER, MODE_WEBSOCKET
from teleglas.model.alerts import Alert, Flush, Form
from teleglas.model.ids import content_id
from teleglas.settings import Settings
from teleglas.source.coinglass.rest import FUNDING_RATES, OPEN_INTEREST, WHALE_ALERTS, CoinGlassRest
from teleglas.source.coinglass.rest_records import (
    FundingRate,
    parse_funding_rates,
    parse_open_interest,
    parse_whale_alerts,
)
from teleglas.state.checks import CheckState
from teleglas.state.liveness import Liveness, whale_source

log = logging.getLogger(__name__)


class Poller:
    def __init__(self, rest: CoinGlassRest, engine: Engine, checks: CheckState, liveness: Liveness, settings: Settings):
        self.rest = rest
        self.engine = engine
        self.checks = checks
        self.liveness = liveness
        self.settings = settings

    def whale_fallback_reason(self, now: float) -> str | None:
        """Why the REST fallback must poll, or None while a listener streams whales."""
        return whale_source(self.liveness, self.settings, now).reason

    def poll_whales(self, claimer: str, now: float) -> tuple[list[Alert], list[Flush]]:
        data = self.rest.get(WHALE_ALERTS, cache_s=min(self.settings.beat.whale_poll_interval_s / 2, 10))
        self.checks.mark_whale_poll(now, int(self.settings.beat.whale_poll_interval_s * 10) + 60)
        events, rejected = parse_whale_alerts(data)
        for reason in rejected:
            log.warning("%s REST record rejected: %s", LOG_RUNNER, reason)
        since_ms = (now - self.settings.beat.whale_poll_lookback_s) * 1000
        alerts: list[Alert] = []
        flushes: list[Flush] = []
        for event in sorted((e for e in events if e.time_ms >= since_ms), key=lambda e: e.time_ms):
            new_alerts, new_flushes = self.engine.evaluate(event, claimer, now)
            alerts += new_alerts
            flushes += new_flushes
        return alerts, flushes

    def check_funding(self, claimer: str, now: float) -> list[Alert]:
        rates, rejected = parse_funding_rates(self.rest.get(FUNDING_RATES, cache_s=20))
        for reason in rejected:
            log.warning("%s REST record rejected: %s", LOG_RUNNER, reason)
        wanted = set(self.settings.beat.funding_symbols)
        alerts = []
        for rate in rates:
            if wanted and rate.symbol.upper() not in wanted:
                continue
            decided = self.checks.update_check_state(
                "funding",
                checks.funding_subject(rate),
                self.settings.beat.funding_cooldown_s * 2,
                functools.partial(self._funding_update, rate, claimer=claimer, now=now),
            )
            if decided is None:
                continue
            text = checks.format_funding_alert(rate, self.settings.timezone)
            alert_id = content_id(("funding", checks.funding_subject(rate), decided["sign"], decided["at"]))
            alerts.append(
                Alert(
                    alert_id,
                    KIND_FUNDING,
                    Form.SINGLE,
                    rate.symbol,
                    rate.symbol,
                    None,
                    text,
                    checks.funding_digest_line(rate),
                    (alert_id,),
                    current_ms=int(now * 1000),
                )
            )
        return alerts

    def _funding_update(
        self, rate: FundingRate, previous: dict[str, str] | None, claimer: str, now: float
    ) -> dict[str, str] | None:
        state = checks.FundingState(int(previous["sign"]), float(previous["at"]), previous["by"]) if previous else None
        if state is not None and state.by == claimer and state.sign == checks.funding_sign(rate.rate_pct):
            return previous  # this task decided already and was redelivered: the same alert again
        if not checks.funding_should_alert(
            rate.rate_pct,
            self.settings.beat.funding_rate_threshold_pct,
            state,
            now,
            self.settings.beat.funding_cooldown_s,
        ):
            return None
        return {"sign": str(checks.funding_sign(rate.rate_pct)), "at": f"{now:.3f}", "by": claimer}

    def check_open_interest(self, claimer: str, now: float) -> list[Alert]:
        alerts = []
        for symbol in self.settings.beat.oi_symbols:
            current = parse_open_interest(self.rest.get(OPEN_INTEREST, {"symbol": symbol}, cache_s=10), symbol)
            samples = self.checks.add_oi_sample(symbol, now, current.usd, self.settings.beat.oi_window_s)
            measured = checks.open_interest_change(samples, now, self.settings.beat.oi_window_s)
            if measured is None or not checks.open_interest_should_alert(
                measured[0], self.settings.beat.oi_change_threshold_pct
            ):
                continue
            change, before = measured
            if not self.checks.claim_check("open_interest", symbol, claimer, self.settings.beat.oi_cooldown_s):
                continue
            text = checks.format_open_interest_alert(
                symbol, change, before, current.usd, self.settings.beat.oi_window_s
            )
            alert_id = content_id(("open_interest", symbol, claimer))  # a retry of this task finds the same alert
            line = checks.open_interest_digest_line(symbol, change, self.settings.beat.oi_window_s)
            alerts.append(
                Alert(
                    alert_id,
                    KIND_OPEN_INTEREST,
                    Form.SINGLE,
                    symbol,
                    symbol,
                    None,
                    text,
                    line,
                    (alert_id,),
                    current_ms=int(now * 1000),
                )
            )
        return alerts


def startup_alert(mode: str, detail: str, start_id: str) -> Alert:
    """The one "online" message of a listener or beat start."""
    title = (
        "✅ TELEGLAS online · WebSocket stream" if mode == MODE_WEBSOCKET else "✅ TELEGLAS online · polling fallback"
    )
    text = f"{title}\n{detail}"
    alert_id = content_id(("startup", start_id))
    return Alert(alert_id, KIND_SYSTEM, Form.SINGLE, "", "", None, text, title, (alert_id,))
