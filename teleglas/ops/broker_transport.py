"""kombu's Redis transport, made to lose nothing: a message is always in its queue or in the unacknowledged set,
and a Redis restart cannot stop a worker.

Taking a message. kombu's consumer BRPOPs a message off its queue and then, in a second round trip, records it
as unacknowledged: a worker killed, or a Redis killed, between the two loses the message for good (found by
`make chaos`: 3 alerts of 69 once). Here a consumer blocks on a doorbell list instead (one bell per message
published or put back), then moves the messages its prefetch window has room for (up to 16) from their queue
into the unacknowledged hash and index in one Lua script, so kombu's own record of each (a second round trip per
task) is skipped. A queue keeps a bell while it holds messages, so a backlog without bells (a restore, a queue
filled by hand) drains at full speed; a message whose bell was lost waits for the next doorbell timeout (a
second). The acknowledgement, the visibility timeout and the restore are kombu's own.

When Redis goes away, Celery closes the channel, and kombu (5.7) then uses the channel's connection, which is
already gone, twice: to put the worker's unacknowledged messages back (`AttributeError: 'NoneType' object has
no attribute 'hostname'`), and to acknowledge a task that finished after the loss (`... no attribute
'client'`). Celery treats either as unrecoverable and the worker exits (found by `make chaos`).

The guard skips both on a closed channel: the messages stay in Redis's `unacked` hash (persisted with the
rest), and kombu puts them back after CELERY_VISIBILITY_TIMEOUT like any unacknowledged message, while the
worker reconnects. Nothing is lost: those tasks run again, late by the visibility timeout, and a task that
had finished repeats nothing (its events are claimed by its own id, its alerts have delivery records).

The batch serializer. process_events messages are written by msgspec straight from the typed events
(teleglas.model.batch), registered with kombu here, where every publishing process registers the transport; under
JSON's own content type, so every reader takes them as the JSON they are.
"""

from __future__ import annotations

import logging
from queue import Empty
from time import monotonic
from typing import Any

import msgspec
from kombu import serialization
from kombu.transport import TRANSPORT_ALIASES, redis, virtual
from kombu.utils import json as kombu_json
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError, NoScriptError, RedisError, ResponseError

from teleglas.defines import BATCH_SERIALIZER, LOG_RUNNER
from teleglas.model import batch
from teleglas.state.keys import bell_key

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

    def append(self, message, delivery_tag):
        """A message the take script recorded needs only kombu's bookkeeping in memory: kombu would write the same
        unacknowledged entry again, a second round trip (and JSON of the whole message) per task."""
        if delivery_tag in self.channel._recorded:
            self.channel._recorded.discard(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)

    def ack(self, delivery_tag):
        if self._channel_closed():
            log.warning(
                "%s a task finished after the broker connection was lost: it returns after the visibility timeout",
                LOG_RUNNER,
            )
            return
        if self.channel._acks.write(self.channel.pool, self.unacked_key, self.unacked_index_key, delivery_tag):
            virtual.QoS.ack(self, delivery_tag)
        else:
            super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if self._channel_closed():
            return
        super().reject(delivery_tag, requeue)


# KEYS: the queue lists (in the consumer's rotation order, every priority), the unacked hash, the unacked
# index, then the doorbell of each queue list. ARGV: 1 how many queue lists, 2 at most this many messages,
# 3 a digit per queue list: 1 record its messages as unacknowledged, 0 not (a no_ack consumer's, which is never
# acknowledged), 4 how many bells the consumer already took (1 behind a BRPOP, 0 for a take while busy).
# A message is scored in the unacked index at Redis's time of the take (the take may run up to a doorbell
# timeout after it was sent); kombu's restore compares it with the worker's clock, which NTP keeps within
# milliseconds of Redis's, far inside any visibility timeout.
# Returns list position, message, list position, message, ... (empty: nothing waiting).
# The unacked entry is kombu's own shape, [message, exchange, routing key] as JSON, built around the message's
# text so the message itself is stored exactly as published. A queue list gives up a bell for each message taken
# (less the one a BRPOP took), and keeps one while it still holds messages.
_TAKE = """
local n, limit, rung, out = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4]), {}
local t = redis.call('TIME')
local now = string.format('%d.%06d', t[1], t[2])
for i = 1, n do
  local taken = 0
  while #out < 2 * limit do
    local item = redis.call('RPOP', KEYS[i])
    if not item then break end
    taken = taken + 1
    if string.sub(ARGV[3], i, i) == '1' then
      local props = cjson.decode(item)['properties']
      local info = props['delivery_info']
      local route = cjson.encode(info['exchange']) .. ',' .. cjson.encode(info['routing_key'])
      redis.call('HSET', KEYS[n + 1], props['delivery_tag'], '[' .. item .. ',' .. route .. ']')
      redis.call('ZADD', KEYS[n + 2], now, props['delivery_tag'])
    end
    out[#out + 1] = i
    out[#out + 1] = item
  end
  if taken > rung then
    redis.call('LTRIM', KEYS[n + 2 + i], 0, rung - taken - 1)
  end
  if taken > 0 and redis.call('LLEN', KEYS[i]) > 0 and redis.call('LLEN', KEYS[n + 2 + i]) == 0 then
    redis.call('LPUSH', KEYS[n + 2 + i], '1')
  end
  if #out >= 2 * limit then break end
end
return out
"""
_BELLS_KEPT = 10_000  # a doorbell list holds at most this many bells; messages beyond wait for a chain or a timeout
_TAKE_MAX = 16  # messages taken in one call at most, within what the consumer's prefetch window still allows
_take_script = Script(None, _TAKE.encode())  # EVALSHA: the script's text is sent only when Redis lacks it


class _AckWriter:
    """Acknowledgements written without waiting for Redis's answer, on a connection of their own that Redis
    answers nothing on (CLIENT REPLY OFF): kombu's acknowledgement is a transaction and a round trip in the worker's
    main process, which hands every task to the pool; waiting for it was a fifth of that process's time per task.
    An acknowledgement is the same transaction (MULTI, ZREM, HDEL, EXEC). A connection Redis closed is seen before
    writing (it can only ever become readable by ending) and replaced; one lost just as an acknowledgement is written
    leaves that task unacknowledged: it runs again after the visibility timeout and repeats nothing, as after a worker
    killed mid-task. A server that does not know CLIENT REPLY gets kombu's own acknowledgements."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._conn: Any = None
        self._usable = True

    def write(self, pool: Any, unacked_key: str, index_key: str, tag: str) -> bool:
        """False: not written (no quiet connection to be had); the caller acknowledges as kombu does."""
        if not self._usable:
            return False
        try:
            if self._pool is not pool:  # first use, or kombu replaced a pool it lost
                self._pool, self._conn = pool, pool.get_connection()
                self._conn.register_connect_callback(self._quiet)
                if self._conn._sock is None:
                    self._conn.connect()  # which calls _quiet
                else:
                    self._quiet(self._conn)
            elif self._conn.can_read(timeout=0):  # nothing ever comes here: anything readable ends the connection
                raise RedisConnectionError("the quiet connection answered")
            self._conn.send_packed_command(
                self._conn.pack_commands([("MULTI",), ("ZREM", index_key, tag), ("HDEL", unacked_key, tag), ("EXEC",)]),
                check_health=False,  # a health check reads an answer, and none comes
            )
        except (RedisError, OSError) as exc:
            if self._usable:
                log.warning("%s acknowledgement not written (%s): kombu's way instead", LOG_RUNNER, type(exc).__name__)
            self.close()
            return False
        return True

    def _quiet(self, conn: Any) -> None:
        """Turns answers off on `conn`, at each connect (the setting lives with the connection). OFF is never
        answered and ON is, so the one answer read tells whether the server knows the command."""
        conn.send_packed_command(
            conn.pack_commands([("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "ON")]), check_health=False
        )
        try:
            conn.read_response()
        except ResponseError:
            self._usable = False
            log.info("%s the broker has no CLIENT REPLY: acknowledgements wait for its answers", LOG_RUNNER)
            raise
        conn.send_packed_command(conn.pack_command("CLIENT", "REPLY", "OFF"), check_health=False)

    def close(self) -> None:
        """Gives the connection back to its pool, closed (it answers nothing, so nothing else may use it)."""
        if self._conn is not None:
            self._conn.deregister_connect_callback(self._quiet)
            self._conn.disconnect()
            self._pool.release(self._conn)
        self._pool = self._conn = None


class _Commands(list):
    """The Redis commands of one publish, collected as kombu's publish batch collects them (its `add`)."""

    def add(self, name, *args):
        self.append((name, args))


class Channel(redis.Channel):
    QoS = QoS
    _client = None
    _client_pool = None

    def __init__(self, *args, **kwargs):
        self._recorded: set[str] = set()  # delivery tags the take script recorded as unacknowledged
        self._no_ack: set[str] = set()  # queues consumed without acknowledgements (Celery's control replies)
        self._acks = _AckWriter()
        self._busy = False  # the last take found messages: take again without a bell
        self._bell_first = False  # the take in flight waits behind a BRPOP on the doorbells
        self._pending_take: tuple[list[str], list, list[str]] | None = None  # a take sent, its answer not yet read
        super().__init__(*args, **kwargs)

    def close(self):
        self._acks.close()
        super().close()

    def basic_consume(self, queue, no_ack, *args, **kwargs):
        (self._no_ack.add if no_ack else self._no_ack.discard)(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def _brpop_start(self, timeout=None):
        """Sends the take script, read when its answer comes so the worker's loop does not stop for it. While the
        last take found messages it runs at once; otherwise it waits behind a BRPOP on the doorbells of the
        consumed queues (kombu blocks on the queues themselves), sent together: Redis runs a connection's
        commands in order, so the take runs the moment a bell rings (or the doorbell timeout ends the BRPOP),
        without a second round trip. A take asks for no more than the prefetch window has room for, and only
        this channel's deliveries fill it, so its answer is read as soon as it comes (kombu holds a BRPOP's answer
        while the window is full)."""
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        connection = self.client.connection
        self._in_poll = connection
        self._brpop_sent_at = monotonic()
        self._bell_first = not self._busy
        self._pending_take = self._take_call(queues, self._take_limit(), rung=int(self._bell_first))
        keys, args, _ = self._pending_take
        take = ("EVALSHA", _take_script.sha, len(keys), *keys, *args)
        if not self._bell_first:
            connection.send_command(*take)
            return
        bells = [bell_key(self._q_for_pri(queue, pri)) for pri in self.priority_steps for queue in queues]
        wait = self.brpop_timeout if timeout is None else timeout or 0
        connection.send_packed_command(connection.pack_commands([("BRPOP", *bells, wait), take]))

    def _brpop_read(self, **options):
        """The take's messages (after the bell or the doorbell timeout the take waited for): as many as the
        prefetch window allows, moved atomically into the unacknowledged set."""
        pending, self._pending_take = self._pending_take, None
        connection = self.client.connection
        rung = 0
        try:
            try:
                if self._bell_first:
                    rung = int(self.client.parse_response(connection, "BRPOP", **options) is not None)
                answer = self.client.parse_response(connection, "EVALSHA", **options)
            except NoScriptError:  # Redis lost its scripts (a restart): the take again, which loads it
                answer = None
            except Exception:  # a lost connection, or a BRPOP refused with the take's answer still unread
                connection.disconnect()
                raise
            if pending is not None and answer is not None:
                taken = self._taken(answer, pending[2])
            else:
                taken = self._take(self._take_limit(), rung=rung)
            self._busy = bool(taken)
            if not taken:
                raise Empty()
            for queue, message in taken:
                self._queue_cycle.rotate(queue)
                self.connection._deliver(message, queue)
            return True
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    def _take_limit(self) -> int:
        return min(_TAKE_MAX, self.qos.can_consume_max_estimate() or 1)

    def _take_call(self, queues: list[str], limit: int, rung: int) -> tuple[list[str], list, list[str]]:
        """The take script's keys and arguments for `queues` (the consumed ones, in rotation order), and the queue
        of each list it takes from."""
        pairs = [(queue, self._q_for_pri(queue, pri)) for pri in self.priority_steps for queue in queues]
        lists = [key for _, key in pairs]
        record = "".join("0" if queue in self._no_ack else "1" for queue, _ in pairs)
        keys = [*lists, self.unacked_key, self.unacked_index_key, *(bell_key(key) for key in lists)]
        return keys, [len(lists), limit, record, rung], [queue for queue, _ in pairs]

    def _take(self, limit: int, rung: int) -> list[tuple[str, dict]]:
        """Up to `limit` messages as (queue, message), taken now (`rung`: 1 after a BRPOP took a bell)."""
        keys, args, queues = self._take_call(self._queue_cycle.consume(len(self.active_queues)), limit, rung)
        with self.conn_or_acquire() as client:
            return self._taken(_take_script(keys, args, client=client), queues)

    def _taken(self, found: list, queues: list[str]) -> list[tuple[str, dict]]:
        """The take script's answer as (queue, message); those of acknowledging consumers are already recorded as
        unacknowledged, which QoS.append then only notes in memory."""
        taken = []
        for index, item in zip(found[::2], found[1::2], strict=True):
            queue = queues[int(index) - 1]
            message = read_json(item)
            if queue not in self._no_ack:
                self._recorded.add(message["properties"]["delivery_tag"])
            taken.append((queue, message))
        return taken

    def _put(self, queue, message, **kwargs):
        """Publishes as kombu does and rings the queue's doorbell, both in one round trip (into kombu's publish
        batch when the producer batches)."""
        batch = kwargs.pop("_publish_batch", None)
        commands = _Commands() if batch is None else batch
        super()._put(queue, message, _publish_batch=commands, **kwargs)
        bell = bell_key(self._q_for_pri(queue, self._get_message_priority(message, reverse=False)))
        commands.add("lpush", bell, "1")
        commands.add("ltrim", bell, 0, _BELLS_KEPT - 1)
        if batch is None:
            with self.conn_or_acquire() as client, client.pipeline(transaction=False) as pipe:
                for name, args in commands:
                    getattr(pipe, name)(*args)
                pipe.execute()

    def _create_client(self, asynchronous=False):
        """kombu builds a redis-py client for every publish and every take (a copy of some 200 response callbacks
        each, as much time as the listener's whole publish besides): one per channel and pool is enough, since a
        client only borrows its pool's connections. A new pool (kombu drops it on a lost connection) gets a new one."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._client_pool is not self.pool:
            self._client, self._client_pool = super()._create_client(), self.pool
        return self._client

    def _do_restore_message(self, payload, exchange, routing_key, pipe, leftmost=False):
        """A message put back (visibility timeout, a rejected task) rings its queue's doorbell too."""
        super()._do_restore_message(payload, exchange, routing_key, pipe, leftmost)
        for queue in self._lookup(exchange, routing_key):
            pipe.lpush(bell_key(self._q_for_pri(queue, self._get_message_priority(payload, reverse=False))), "1")


class Transport(redis.Transport):
    Channel = Channel


def read_json(text: bytes | str | memoryview) -> Any:
    """kombu's JSON reader for every message body, by msgspec: Celery reads a task's body in the worker's main
    process (to look for protocol-1 fields) and again in the pool, and kombu's reader calls a Python hook for every
    object, a hundred a batch. Text holding kombu's typed values (a "__type__" marker), or anything msgspec refuses
    (NaN, a number beyond a float), goes to kombu's own reader, which gives the same value or the same error."""
    if isinstance(text, str):
        text = text.encode()
    elif isinstance(text, memoryview):
        text = bytes(text)
    if b'"__type__"' not in text:
        try:
            return msgspec.json.decode(text)
        except msgspec.MsgspecError:
            pass
    return kombu_json.loads(text)


def register() -> None:
    """`redis://` (and `rediss://`) broker URLs use this transport in every process that imports the app;
    kombu's alias table is its documented way to name a transport class. Also names the batch serializer
    (BATCH_SERIALIZER) for the publishers of process_events, and gives kombu's JSON serializer the faster reader
    (read_json); kombu's registry is the documented place for both."""
    TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = f"{__name__}:Transport"
    serialization.register(BATCH_SERIALIZER, batch.encode, read_json, "application/json", "utf-8")
    serialization.register("json", kombu_json.dumps, read_json, "application/json", "utf-8")
