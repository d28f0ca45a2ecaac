"""From a typed event to alerts: rules → event dedupe → window, storm and cooldown state → texts.

What happens to a qualifying event (each decided atomically in Redis by EngineStore, memoized per event):
- lead: its own alert, carrying the whale score and a summary line of what its cooldown folded;
- fold: within the cooldown of (kind, symbol, side); shown later, in the next lead or in a summary sent
  when the cooldown ends (a Flush the caller schedules);
- storm_start / storm_fold: part of a liquidation storm or whale cluster; one message when the window ends (or
  its symbol goes quiet), which also tells what the symbol's cooldowns had folded before the storm began.
Every qualifying event ends up in exactly one message; below-threshold events never touch Redis.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from teleglas.decide import formatting
from teleglas.decide.aggregation import Summary, decode_entry, encode_entry, summarize
from teleglas.decide.rules import Rules
from teleglas.decide.scoring import WhaleContext, agreeing_liquidation_side, whale_score
from teleglas.defines import KIND_LIQUIDATION, LOG_ENGINE, STORM_ALL_SIDES, STORM_QUIET_MIN_S
from teleglas.model.alerts import Alert, Flush, FlushSource, Form
from teleglas.model.charts import ChartKind, chart_for
from teleglas.model.events import MarketEvent
from teleglas.model.ids import content_id
from teleglas.ops.metrics import (
    SUPPRESSED,
    SUPPRESSED_COOLDOWN,
    SUPPRESSED_DUPLICATE,
    SUPPRESSED_STORM,
    NoMetrics,
    Recorder,
)
from teleglas.settings import Settings
from teleglas.state.engine import Admission, Candidate, EngineStore, Outcome, StormEnd

log = logging.getLogger(__name__)

_KEEP_S = 3600  # how long state outlives its window, so a late flush still finds it
# Qualifying events without a message of their own, by what admission decided (a lead has its message).
_SUPPRESSED_AS = {
    Outcome.DUPLICATE: SUPPRESSED_DUPLICATE,
    Outcome.FOLD: SUPPRESSED_COOLDOWN,
    Outcome.STORM_START: SUPPRESSED_STORM,
    Outcome.STORM_FOLD: SUPPRESSED_STORM,
}


class Engine:
    def __init__(
        self,
        rules: Rules,
        engine_store: EngineStore,
        settings: Settings,
        metrics: Recorder | NoMetrics | None = None,
    ):
        self.rules = rules
        self.metrics = metrics or NoMetrics()
        self.state = engine_store
        self.settings = settings
        self._whales = settings.rules.enable_whale_alerts
        self._dedupe_ttl_s = settings.rules.event_dedupe_ttl_s
        self._score_window_s = settings.rules.whale_score_window_s
        self._horizon_s = max(rules.storm.window_s, rules.whale_cluster.window_s, self._score_window_s)

    def qualifies(self, event: MarketEvent) -> bool:
        """Big enough to alert on; no I/O (the below-threshold path costs a dict read)."""
        return self.rules.rule_for(event.symbol, event.base_asset, event.exchange).admits(event, self._whales)

    def evaluate(self, event: MarketEvent, claimer: str, now: float) -> tuple[list[Alert], list[Flush]]:
        """One event on its own (the REST whale poll). A batch takes the same steps for many events at once:
        qualifies, candidate, admit, decide."""
        if not self.qualifies(event):
            return [], []
        (admission,) = self.admit([self.candidate(event)], claimer, now)
        return self.decide(event, admission, now)

    def candidate(self, event: MarketEvent) -> Candidate:
        """A qualifying event as its admission needs it (no I/O)."""
        storm = self.rules.storm_rule(event.kind)
        return Candidate(
            fingerprint=event.fingerprint(),
            kind=event.kind,
            symbol=event.symbol,
            side=event.side_name,
            entry=encode_entry(event),
            is_trade=event.kind != KIND_LIQUIDATION,  # whale trades and positions: per-side clusters, a score
            storm_window_s=storm.window_s,
            storm_min_count=storm.min_count,
            storm_min_usd=storm.min_usd,
            cooldown_s=self.rules.rule_for(event.symbol, event.base_asset, event.exchange).cooldown_s,
        )

    def admit(self, candidates: Sequence[Candidate], claimer: str, now: float) -> list[Admission]:
        """Dedupe (the event's claim) and window, storm and cooldown state for qualifying events, in one round trip
        whatever their number (one pipeline, in order); what they suppressed is counted here, once per reason."""
        admissions = self.state.admit(
            candidates,
            claimer=claimer,
            horizon_s=self._horizon_s,
            score_window_s=self._score_window_s,
            memo_ttl_s=self._dedupe_ttl_s,
            now=now,
            keep_s=_KEEP_S,
        )
        suppressed = Counter(_SUPPRESSED_AS[a.outcome] for a in admissions if a.outcome in _SUPPRESSED_AS)
        for reason, count in suppressed.items():
            self.metrics.inc(SUPPRESSED, reason, amount=count)
        return admissions

    def decide(self, event: MarketEvent, admission: Admission, now: float) -> tuple[list[Alert], list[Flush]]:
        """What an admitted event becomes: a lead's alert, or the flush a fold or storm asks for; nothing for a
        duplicate. No I/O, so a failure here is this event's own."""
        fingerprint = event.fingerprint()
        if admission.outcome is Outcome.DUPLICATE:
            log.info(
                "%s duplicate %s %s %s dropped (fingerprint %s)",
                LOG_ENGINE,
                event.kind,
                event.exchange,
                event.symbol,
                fingerprint,
            )
            return [], []
        is_trade = event.kind != KIND_LIQUIDATION
        if admission.outcome is Outcome.LEAD:
            folded = summarize([decode_entry(raw) for raw in admission.folded])
            score = None
            if is_trade:
                rule = self.rules.rule_for(event.symbol, event.base_asset, event.exchange)
                agree_side = agreeing_liquidation_side(event.side_name)
                oppose_side = "LONG" if agree_side == "SHORT" else "SHORT"
                context = WhaleContext(
                    admission.same_side_whales,
                    admission.liquidations_usd[agree_side],
                    admission.liquidations_usd[oppose_side],
                )
                score = whale_score(event.usd, rule.whale_min_usd, rule.liquidation_min_usd, context)
            zone = self.settings.timezone
            alert = Alert(
                alert_id=fingerprint,
                kind=event.kind,
                form=Form.SINGLE,
                symbol=event.symbol,
                base_asset=event.base_asset,
                usd=event.usd,
                text=formatting.format_lead_alert(event, zone, folded, score),
                digest_line=formatting.lead_digest_line(event, zone, folded),
                event_ids=(fingerprint, *(folded.event_ids if folded else ())),
                side=event.side_name,
                exchange=event.exchange,
                price=event.price,
                event_ms=event.time_ms,
            )
            return [alert], []
        if admission.flush_due_s > 0:
            source = FlushSource.STORM if admission.outcome is Outcome.STORM_START else FlushSource.FOLDED
            scope = event.side_name if (source == FlushSource.FOLDED or is_trade) else STORM_ALL_SIDES
            due_s = admission.flush_due_s
            if source == FlushSource.STORM and self.rules.storm_rule(event.kind).quiet_gaps > 0:
                due_s = min(due_s, STORM_QUIET_MIN_S)  # the first look: could it already have gone quiet?
            log.info(
                "%s %s %s %s: %s, flush in %.1f s",
                LOG_ENGINE,
                event.kind,
                event.symbol,
                event.side_name,
                admission.outcome,
                due_s,
            )
            return [], [
                Flush(
                    source,
                    event.kind,
                    event.symbol,
                    event.base_asset,
                    scope,
                    due_s,
                    now + due_s,
                )
            ]
        return [], []

    def flush(self, flush: Flush, claimer: str, now: float) -> tuple[list[Alert], list[Flush]]:
        """The summary of a finished cooldown, or the message of a finished storm/cluster window; a storm that goes
        on (its window open, its symbol not yet quiet) gives the flush back, due when it may end."""
        if flush.source == FlushSource.STORM:
            rule = self.rules.storm_rule(flush.kind)
            end = StormEnd(rule.window_s, rule.quiet_gaps, STORM_QUIET_MIN_S)
            take = self.state.take_storm(flush.kind, flush.symbol, flush.scope, claimer, self._dedupe_ttl_s, now, end)
            if take.wait_s > 0:
                return [], [replace(flush, due_s=take.wait_s, due_at=now + take.wait_s)]
            raw = take.entries
        else:
            raw = self.state.take_folded(flush.kind, flush.symbol, flush.scope, claimer, self._dedupe_ttl_s, now)
        summary = summarize([decode_entry(r) for r in raw])
        if summary is None:
            return [], []  # a lead took the folded events along, or a redelivered flush found them gone
        return [self._summary_alert(flush, summary, now)], []

    def _summary_alert(self, flush: Flush, summary: Summary, now: float) -> Alert:
        zone = self.settings.timezone
        if flush.source == FlushSource.STORM:
            text = formatting.format_storm(flush.kind, flush.symbol, summary, zone)
            line = formatting.storm_digest_line(flush.kind, flush.symbol, summary)
            form = Form.STORM
        else:
            text = formatting.format_folded_summary(flush.kind, flush.symbol, flush.scope, summary, zone)
            line = formatting.folded_digest_line(flush.kind, flush.symbol, flush.scope, summary)
            form = Form.SUMMARY
        alert_id = f"{form}-" + content_id(sorted(summary.event_ids))
        largest = summary.largest
        chart = None
        if flush.kind == KIND_LIQUIDATION:  # the liquidations the window saw, with the price: a picture of them
            chart_kind = ChartKind.STORM if form is Form.STORM else ChartKind.SUMMARY
            chart = chart_for(chart_kind, (flush.symbol,), summary.first_ms, summary.last_ms)
        current_s = min(flush.due_at, now) if flush.due_at is not None else now
        return Alert(
            alert_id,
            flush.kind,
            form,
            flush.symbol,
            flush.base_asset,
            None,
            text,
            line,
            summary.event_ids,
            side=largest.side,
            exchange=largest.exchange,
            price=largest.price,
            event_ms=largest.time_ms,
            current_ms=int(current_s * 1000),
            chart=chart,
        )
