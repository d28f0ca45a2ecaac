"""Event dedupe and delivery records against a real redis-server."""
import pytest

from teleglas.alerts.engine import evaluate
from teleglas.coinglass.events import LiquidationOrder
from teleglas.local_stack import LocalStack
from teleglas.store import Store, delivery_key, event_key
from tests.conftest import make_settings

EVENT = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 1_250_000.0, 1725478245120)


@pytest.fixture(scope="module")
def redis_client(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("redis"))
    stack.start_redis()
    yield stack.redis()
    stack.stop()


@pytest.fixture
def store(redis_client):
    redis_client.flushdb()
    return Store(redis_client)


def test_first_claimer_and_its_redelivery_win_others_lose(store):
    assert store.claim_event("fp", "task-1", 60)
    assert store.claim_event("fp", "task-1", 60)  # the same task redelivered after a worker died
    assert not store.claim_event("fp", "task-2", 60)  # the same event from a second listener or a replay
    assert 0 < store.redis.ttl(event_key("fp")) <= 60


def test_delivery_record_has_a_ttl(store):
    assert store.delivered_message_id("alert", -100) is None
    store.record_delivery("alert", -100, 17, 120)
    assert store.delivered_message_id("alert", -100) == 17
    assert 0 < store.redis.ttl(delivery_key("alert", -100)) <= 120


def test_engine_alerts_once_per_event_and_skips_redis_below_threshold(store):
    settings = make_settings(TELEGRAM_ALERT_CHAT_IDS="1")
    alert = evaluate(EVENT, settings, store, "task-1")
    assert alert is not None and alert.alert_id == EVENT.fingerprint() and "📊 Symbol: BTCUSDT" in alert.text
    assert evaluate(EVENT, settings, store, "task-2") is None
    small = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 99_000.0, 1725478245120)
    before = store.redis.info("stats")["total_commands_processed"]
    assert evaluate(small, settings, store, "task-3") is None
    assert store.redis.info("stats")["total_commands_processed"] == before + 1  # only the INFO call itself
