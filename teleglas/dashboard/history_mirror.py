"""The alert history in the dashboard's memory, for the analytics: both streams tailed on every live tick (only new
entries cross the network, at most READ_BATCH per stream and call, so a first load of a full history is spread
over a few calls instead of stalling one), older entries dropped past ALERT_HISTORY_TTL. The streams are
capped, so this is too; sent texts are not kept (the feed reads its 50 from Redis).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace

from teleglas.defines import LOG_RUNNER
from teleglas.state.history import AlertHistory, AlertRecord, DigestRecord, SentRecord
from teleglas.state.keys import history_alerts_key, history_sent_key

log = logging.getLogger(__name__)
READ_BATCH = 5_000


class HistoryMirror:
    def __init__(self, history: AlertHistory):
        self.history = history
        self._lock = threading.Lock()
        self.alerts: OrderedDict[str, AlertRecord] = OrderedDict()  # first record per id, oldest first
        self.digests: dict[str, DigestRecord] = {}
        self.sent: list[SentRecord] = []  # oldest first
        self.unreadable = 0
        self._last = {history_alerts_key(): b"-", history_sent_key(): b"-"}

    def refresh(self, now: float) -> None:
        """Reads what was added since the last call; a stream that is gone (expired, flushed) empties its part."""
        for key in self._last:
            if self._last[key] != b"-" and not self.history.redis.exists(key):
                self._reset(key)
            records, bad, last_id = self.history.read(key, self._last[key], READ_BATCH)
            if bad:
                self.unreadable += bad
                log.warning(
                    "%s %d alert history entr(ies) of %s not understood (%d so far)",
                    LOG_RUNNER,
                    bad,
                    key,
                    self.unreadable,
                )
            with self._lock:
                for record in records:
                    self._add(record)
            if last_id is not None:
                self._last[key] = last_id
        self._expire(now)

    def _add(self, record) -> None:
        if isinstance(record, AlertRecord):
            self.alerts.setdefault(record.alert_id, record)
        elif isinstance(record, DigestRecord):
            self.digests.setdefault(record.digest_id, record)
        elif isinstance(record, SentRecord):
            self.sent.append(replace(record, text=""))

    def _reset(self, key: str) -> None:
        with self._lock:
            if key == history_alerts_key():
                self.alerts.clear()
                self.digests.clear()
            else:
                self.sent.clear()
        self._last[key] = b"-"

    def _expire(self, now: float) -> None:
        """Drops what Redis no longer keeps either: entries past the TTL, and the oldest beyond the cap."""
        horizon_ms = int((now - self.history.ttl_s) * 1000)
        cap = self.history.max_entries
        with self._lock:
            while self.alerts and (len(self.alerts) > cap or next(iter(self.alerts.values())).decided_ms < horizon_ms):
                self.alerts.popitem(last=False)
            while self.digests and (
                len(self.digests) > cap or next(iter(self.digests.values())).decided_ms < horizon_ms
            ):
                del self.digests[next(iter(self.digests))]
            keep = next((i for i, r in enumerate(self.sent) if r.sent_ms >= horizon_ms), len(self.sent))
            del self.sent[: max(keep, len(self.sent) - cap)]

    def view(self, sent: bool = True) -> tuple[dict[str, AlertRecord], dict[str, DigestRecord], list[SentRecord]]:
        """Copies, safe to compute on while the next refresh runs (`sent=False` skips copying the sent list)."""
        with self._lock:
            return dict(self.alerts), dict(self.digests), list(self.sent) if sent else []
