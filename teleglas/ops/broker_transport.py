"""kombu's Redis transport with one guard, so a Redis restart cannot stop a worker.

When Redis goes away, Celery closes the channel, and kombu (5.7) then uses the channel's connection, which is
already gone, twice: to put the worker's unacknowledged messages back (`AttributeError: 'NoneType' object has
no attribute 'hostname'`), and to acknowledge a task that finished after the loss (`... no attribute
'client'`). Celery treats either as unrecoverable and the worker exits (found by `make chaos`).

The guard skips both on a closed channel: the messages stay in Redis's `unacked` hash (persisted with the
rest), and kombu puts them back after CELERY_VISIBILITY_TIMEOUT like any unacknowledged message, while the
worker reconnects. Nothing is lost: those tasks run again, late by the visibility timeout, and a task that
had finished repeats nothing (its events are claimed by its own id, its alerts have delivery records).
"""

from __future__ import annotations

import logging

from kombu.transport import TRANSPORT_ALIASES, redis

from teleglas.defines import LOG_RUNNER

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    def _channel_closed(self) -> bool:
        return getattr(self.channel.connection, "client", None) is None

    def restore_unacked(self, client=None):
        if client is None and self._channel_closed():
            if self._delivered:
                log.warning(
                    "%s broker connection lost with %d task(s) in hand: they return after the visibility timeout",
                    LOG_RUNNER,
                    len(self._delivered),
                )
            self._delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag):
        if self._channel_closed():
            log.warning(
                "%s a task finished after the broker connection was lost: it returns after the visibility timeout",
                LOG_RUNNER,
            )
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if self._channel_closed():
            return
        super().reject(delivery_tag, requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel


def register() -> None:
    """`redis://` (and `rediss://`) broker URLs use this transport in every process that imports the app;
    kombu's alias table is its documented way to name a transport class."""
    TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = f"{__name__}:Transport"
