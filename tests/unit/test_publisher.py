"""EventPublisher with a stand-in for the Celery app: a frame's events go in as one entry and come out in order, in
tasks of at most a batch, as packed batch items; with the broker away the oldest events beyond the bound are dropped
(counted per source), one by one, not a frame at a time."""

import threading
import time

from teleglas.defines import BATCH_SERIALIZER, QUEUE_EVENTS, TASK_PROCESS_EVENTS
from teleglas.model.batch import read_item, unpack
from teleglas.model.events import LiquidationOrder
from teleglas.source.listener.publisher import EventPublisher


class FakeApp:
    """send_task records each task, or raises while `down` is set."""

    def __init__(self):
        self.tasks = []
        self.down = threading.Event()

    def send_task(self, name, args, queue, serializer, argsrepr):
        if self.down.is_set():
            raise ConnectionError("broker away")
        assert (name, queue, serializer) == (TASK_PROCESS_EVENTS, QUEUE_EVENTS, BATCH_SERIALIZER)
        (packed,) = args
        assert isinstance(packed, str)  # one text, not a list of items
        items = unpack(packed)
        assert argsrepr == f"({len(items)} events)"
        self.tasks.append(items)

    def times(self):
        return [read_item(item)[0].time_ms for task in self.tasks for item in task]


def events(start, count):
    return [LiquidationOrder("Binance", "BTCUSDT", "BTC", 60_000.0, 1, 5_000.0, n) for n in range(start, start + count)]


def wait_for(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_frames_go_out_in_order_in_tasks_of_at_most_a_batch():
    app = FakeApp()
    publisher = EventPublisher(app, max_batch=50)
    for start in range(0, 300, 30):
        publisher.submit(events(start, 30), 1_000 + start, "coinglass" if start % 60 else "bybit")
    assert publisher.close(5)
    assert app.times() == list(range(300)) and all(len(task) <= 50 for task in app.tasks)
    assert publisher.published == 300 and publisher.published_by == {"coinglass": 150, "bybit": 150}
    first = read_item(app.tasks[0][0])
    assert (first[1], first[2]) == (1_000, "bybit")


def test_with_the_broker_away_the_oldest_events_beyond_the_bound_are_dropped_one_by_one():
    app = FakeApp()
    app.down.set()
    publisher = EventPublisher(app, max_events=45, max_batch=50)
    for start in range(0, 100, 20):
        publisher.submit(events(start, 20), 1_000, "okx")
    # What the publisher had in hand when a publish failed went back in front, and the bound applies to it too.
    wait_for(lambda: publisher.publish_failures >= 1 and (publisher.buffered, publisher.dropped) == (45, 55))
    assert publisher.dropped_by == {"okx": 55}
    app.down.clear()
    wait_for(lambda: publisher.published == 45, timeout_s=15)
    assert app.times() == list(range(55, 100))
