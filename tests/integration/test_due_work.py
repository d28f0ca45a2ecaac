"""Delayed work in Redis (teleglas.state.due) and the mover that publishes it, against a real redis-server."""

import time

from teleglas.devstack.local_stack import wait_until
from teleglas.state.due import DueTask, DueWork
from teleglas.tasks.due_mover import DueMover


def task(key: str, *args, **kwargs) -> DueTask:
    return DueTask(key, "teleglas.test", "events", args, kwargs)


def taken(due: DueWork, lease_s: float = 10.0) -> list[DueTask]:
    raw = due.take(100, lease_s)
    due.done(raw)
    return [DueTask.from_json(r) for r in raw]


def test_a_task_is_published_when_due_not_before(state):
    due = DueWork(state.redis)
    due.schedule(task("a", 1), 0.3)
    assert taken(due) == [] and due.pending() == 1
    wait_until(lambda: due.due_in("a") <= 0, 2, 0.02, what="the due time")
    assert taken(due) == [task("a", 1)] and due.pending() == 0


def test_the_same_key_replaces_the_task_and_keeps_the_earlier_time_when_asked(state):
    due = DueWork(state.redis)
    due.schedule(task("send", state=1), 30)
    due.schedule(task("send", state=2), 60)  # the newest state of a send wins, and its time
    assert 55 < due.due_in("send") <= 60 and due.pending() == 1
    due.schedule(task("flush", n=1), 0.0, keep_earlier=True)
    assert (
        due.schedule(task("flush", n=2), 60, keep_earlier=True) <= 0
    )  # a flush asked twice runs once, at the earlier time
    assert taken(due) == [task("flush", n=2)]
    assert [t.kwargs for t in taken(due)] == []  # "send" is not due for a minute


def test_a_mover_that_dies_after_taking_leaves_the_task_to_the_next_one(state):
    due = DueWork(state.redis)
    due.schedule(task("a"), 0)
    assert len(due.take(100, lease_s=0.3)) == 1  # taken, then the mover died before publishing
    assert due.take(100, 0.3) == [] and due.pending() == 1  # held while its lease runs
    time.sleep(0.35)
    assert taken(due) == [task("a")] and due.pending() == 0


def test_the_mover_publishes_what_is_due_and_retries_what_the_broker_refused(state):
    due = DueWork(state.redis)
    published: list[DueTask] = []
    refuse = {"b"}

    def publish(t: DueTask) -> None:
        if t.key in refuse:
            refuse.discard(t.key)
            raise ConnectionError("broker away")
        published.append(t)

    mover = DueMover(due, publish)
    due.schedule(task("a"), 0)
    due.schedule(task("b"), 0)
    assert mover.move_once() == 1 and [t.key for t in published] == ["a"]
    assert due.pending() == 1  # "b" stays in flight until its lease ends, then goes out
    state.redis.zadd(
        "teleglas:due:inflight", dict.fromkeys(state.redis.zrange("teleglas:due:inflight", 0, -1), 0)
    )  # the lease ends now
    assert mover.move_once() == 1 and [t.key for t in published] == ["a", "b"] and due.pending() == 0


def test_a_task_keeps_its_id_and_arguments_through_redis(state):
    due = DueWork(state.redis)
    original = DueTask(
        "retry:abc",
        "teleglas.process_events",
        "events",
        ([[{"kind": "liquidation"}, 17]],),
        {"_attempt": 2},
        task_id="abc",
    )
    due.schedule(original, 0)
    assert taken(due) == [original]
