"""TELEGLAS's kombu transport against a real redis-server: every message taken is in the unacknowledged set until
acknowledged, acknowledgements leave it without Redis answering them, and a broker that refuses CLIENT REPLY or a
connection Redis closed still gets every acknowledgement."""

import select
import time

import pytest
from kombu import Connection, Exchange, Queue

from teleglas.devstack.local_stack import wait_until
from teleglas.ops import broker_transport

QUEUE = Queue("transport-test", Exchange("transport-test"), "transport-test")


@pytest.fixture
def broker(redis_server):
    broker_transport.register()
    client = redis_server.redis()
    client.flushdb()
    with Connection(redis_server.redis_url) as connection:
        yield connection, client
    client.execute_command("ACL", "SETUSER", "default", "+client|reply")


def publish(connection, count: int, start: int = 0) -> None:
    producer = connection.Producer()
    for n in range(start, start + count):
        producer.publish({"n": n}, exchange=QUEUE.exchange, routing_key=QUEUE.routing_key, declare=[QUEUE])


def consume(connection, count: int, between=None) -> list[int]:
    """Takes `count` messages and acknowledges each; `between(n)` runs after the n-th acknowledgement."""
    seen: list[int] = []

    def on_message(body, message):
        seen.append(body["n"])
        message.ack()
        if between:
            between(len(seen))

    with connection.Consumer(QUEUE, callbacks=[on_message], prefetch_count=4):
        while len(seen) < count:
            connection.drain_events(timeout=5)
    return seen


def unacknowledged(client) -> tuple[int, int]:
    return client.hlen("unacked"), client.zcard("unacked_index")


def test_acknowledgements_leave_the_unacknowledged_set_and_redis_answers_none_of_them(broker):
    connection, client = broker
    publish(connection, 50)
    assert sorted(consume(connection, 50)) == list(range(50))
    wait_until(lambda: unacknowledged(client) == (0, 0), 5, 0.01, what="every acknowledgement written")
    quiet = connection.default_channel._acks._conn
    assert quiet is not None  # the acknowledgements went the quiet way
    readable, _, _ = select.select([quiet._sock], [], [], 0.2)
    assert not readable  # fifty transactions, and not one answer waiting to be read


def test_a_broker_that_refuses_client_reply_gets_kombus_acknowledgements(broker):
    connection, client = broker
    client.execute_command("ACL", "SETUSER", "default", "-client|reply")
    publish(connection, 10)
    assert sorted(consume(connection, 10)) == list(range(10))
    assert unacknowledged(client) == (0, 0)  # each acknowledged with its answer read
    assert connection.default_channel._acks._conn is None


def test_a_quiet_connection_redis_closed_is_replaced_and_no_acknowledgement_is_lost(broker):
    connection, client = broker
    publish(connection, 30)
    killed = []

    def kill_after_ten(n):
        if n == 10:
            quiet = connection.default_channel._acks._conn
            host, port = quiet._sock.getsockname()[:2]
            assert client.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
            killed.append(quiet)
            time.sleep(0.1)  # the close reaches this side

    assert sorted(consume(connection, 30, between=kill_after_ten)) == list(range(30))
    wait_until(lambda: unacknowledged(client) == (0, 0), 5, 0.01, what="every acknowledgement written")
    assert killed and connection.default_channel._acks._conn is not None  # a new quiet connection took over
