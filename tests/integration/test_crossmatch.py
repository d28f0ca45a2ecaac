"""The cross-source match against a real redis-server: the same liquidation from CoinGlass and from the exchange is
one event, the same event twice from one source is a duplicate, distinct events are never merged, and a retried
batch gets its own answers again; all in one Redis call per batch."""

import random

import pytest

from teleglas.defines import (
    ALL_SOURCES,
    MATCH_ALONE_BUCKET_MS,
    MATCH_KEEP_S,
    MATCH_TIME_TOLERANCE_MS,
    MATCH_USD_TOLERANCE,
)
from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.state.crossmatch import DUPLICATE, KEPT, KEPT_AGAIN, MERGED, MERGED_AGAIN, CrossSourceMatch, match_symbol

T = 1725478245120
CG, BN, BY = "coinglass", "binance", "bybit"


def liq(usd=1_250_000.0, time_ms=T, side=2, exchange="Binance", symbol="BTCUSDT", price=56738.0):
    return LiquidationOrder(exchange, symbol, "BTC", price, side, usd, time_ms)


@pytest.fixture
def match(redis_server):
    client = redis_server.redis()
    client.flushdb()
    return CrossSourceMatch(client, MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, ALL_SOURCES)


def test_the_same_liquidation_from_coinglass_and_binance_is_one_event(match):
    # Binance's copy: average price × filled quantity, its own trade time; CoinGlass's: another price, 400 ms later.
    native = liq(usd=1_250_000.0, price=56738.0)
    relayed = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56700.0, 2, 1_249_163.0, T + 400)
    assert match.admit([(native, BN)], "task-1") == [KEPT]
    assert match.admit([(relayed, CG)], "task-2") == [MERGED]
    # Either may come first; a third copy (another listener of CoinGlass) is a plain duplicate.
    assert match.admit([(relayed, CG)], "task-3") == [DUPLICATE]


def test_overlap_inside_one_batch_and_retries_of_it(match):
    batch = [(liq(), CG), (liq(usd=1_251_000.0, time_ms=T - 900), BN), (liq(side=1), BN), (liq(side=1), BN)]
    assert match.admit(batch[:3], "task-1") == [KEPT, MERGED, KEPT]
    assert match.admit(batch, "task-1") == [KEPT_AGAIN, MERGED_AGAIN, KEPT_AGAIN, DUPLICATE]  # the same one twice
    batch = batch[:3]
    assert match.admit(batch, "task-1") == [KEPT_AGAIN, MERGED_AGAIN, KEPT_AGAIN]  # a retry: the same answers
    assert match.admit(batch, "task-2") == [DUPLICATE, DUPLICATE, DUPLICATE]  # a second listener's copies


def test_what_differs_is_never_merged(match):
    # CoinGlass's own two events a millisecond apart: one source never merges itself.
    assert match.admit([(liq(), CG), (liq(time_ms=T + 1), CG)], "t") == [KEPT, KEPT]
    others = [
        (liq(side=1), BN),  # the other side
        (liq(time_ms=T + 1 + MATCH_TIME_TOLERANCE_MS + 1), BN),  # too far apart in time
        (liq(usd=1_250_000.0 * (1 + MATCH_USD_TOLERANCE * 1.5)), BN),  # too different in size
        (liq(exchange="Bybit"), BY),  # another exchange
        (liq(symbol="ETHUSDT"), BN),  # another pair
        (FuturesTrade("Binance", "BTCUSDT", "BTC", 56738.0, 2, 1_250_000.0, T), BN),  # a trade, not a liquidation
    ]
    assert match.admit(others, "t") == [KEPT] * len(others)


def test_each_copy_pairs_with_one_other_copy_at_most(match):
    """Two Binance liquidations of the same size a second apart and CoinGlass's two copies: two events, not one."""
    binance = [(liq(time_ms=T), BN), (liq(time_ms=T + 1000), BN)]
    coinglass = [(liq(time_ms=T + 300, price=56700.0), CG), (liq(time_ms=T + 1300, price=56700.0), CG)]
    assert match.admit(binance, "a") == [KEPT, KEPT]
    assert match.admit(coinglass, "b") == [MERGED, MERGED]
    assert match.admit([(liq(time_ms=T + 600, price=56710.0), CG)], "c") == [KEPT]  # nothing left to pair with


def test_symbols_are_matched_without_separators():
    assert match_symbol("BTC-USDT-SWAP") == match_symbol("btc_usdt") == match_symbol("BTCUSDT") == "BTCUSDT"


def test_okx_copies_match_across_symbol_spellings(match):
    okx = LiquidationOrder("OKX", "DOGEUSDT", "DOGE", 0.1234, 1, 370_200.0, T)
    relayed = LiquidationOrder("OKX", "DOGE-USDT-SWAP", "DOGE", 0.1234, 1, 370_200.0, T + 50)
    assert match.admit([(okx, "okx"), (relayed, CG)], "t") == [KEPT, MERGED]


def test_a_source_outside_sources_is_not_looked_at(redis_server):
    """The workers read SOURCES: with CoinGlass alone, only its own duplicates are looked for."""
    client = redis_server.redis()
    client.flushdb()
    alone = CrossSourceMatch(client, MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, (CG,))
    assert alone.admit([(liq(), BN), (liq(time_ms=T + 300), CG)], "t") == [KEPT, KEPT]
    assert alone.admit([(liq(time_ms=T + 300), CG)], "u") == [DUPLICATE]


def test_index_entries_expire(match, redis_server):
    match.admit([(liq(), CG)], "t")
    ttls = [redis_server.redis().ttl(key) for key in redis_server.redis().keys("teleglas:match:*")]
    assert ttls and all(0 < ttl <= MATCH_KEEP_S for ttl in ttls)


def test_a_batch_answers_as_its_events_one_at_a_time_would(redis_server):
    """The batch names each bucket once and sends its events as one string: copies over three sources, two
    exchanges, two pairs and a few time buckets get, in one call, what each event gets alone (under a claimer of
    its own) on a fresh index."""
    client = redis_server.redis()
    match = CrossSourceMatch(client, MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, ALL_SOURCES)
    rng = random.Random(7)
    sightings = []
    for n in range(300):
        exchange, native = rng.choice((("Binance", BN), ("Bybit", BY)))
        symbol = rng.choice(("BTCUSDT", "ETHUSDT"))
        time_ms = T + rng.randrange(8_000)
        usd = rng.choice((100_000.0, 101_000.0, 250_000.0))
        event = LiquidationOrder(exchange, symbol, "X", rng.choice((10.0, 10.1)), rng.choice((1, 2)), usd, time_ms)
        sightings.append((event, rng.choice((native, CG))))
        if n % 10 == 0:
            sightings.append(sightings[rng.randrange(len(sightings))])  # the very same copy again
    client.flushdb()
    alone = [match.admit([sighting], f"task-{n}")[0] for n, sighting in enumerate(sightings)]
    client.flushdb()
    together = match.admit(sightings, "task-batch")
    assert together == alone
    assert {KEPT, DUPLICATE, MERGED} <= set(alone)
    assert match.admit(sightings, "task-batch") == [
        DUPLICATE if status == DUPLICATE else KEPT_AGAIN if status == KEPT else MERGED_AGAIN for status in together
    ]  # the batch retried: the same answers


def test_events_no_other_source_brings_are_matched_by_content_in_a_hash_per_source_and_ten_seconds(redis_server):
    """With CoinGlass and Binance: CoinGlass's OKX and Bybit events (no native source for them) and every
    event's exact copies. 2,500 events over 25 s, most in one batch, so a hash gets more than the script's 1,000
    contents a call: the batch answers as its events one at a time would, a retry as a retry, and that part of the
    index is one hash per ten seconds of CoinGlass's events, not one per pair and side."""
    client = redis_server.redis()
    match = CrossSourceMatch(client, MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, (CG, BN))
    rng = random.Random(11)
    sightings = []
    for n in range(2_500):
        exchange = rng.choice(("OKX", "Bybit", "Binance"))
        source = rng.choice((BN, CG)) if exchange == "Binance" else CG
        event = LiquidationOrder(
            exchange, rng.choice(("BTCUSDT", "ETH-USDT-SWAP")), "X", 10.0, rng.choice((1, 2)), 1e5, T + n * 2
        )
        sightings.append((event, source))
        if n % 7 == 0:
            sightings.append(sightings[rng.randrange(len(sightings))])
    client.flushdb()
    alone = [match.admit([sighting], f"task-{n}")[0] for n, sighting in enumerate(sightings)]
    client.flushdb()
    together = match.admit(sightings, "task-batch")
    assert max(client.hlen(key) for key in client.keys("teleglas:match:alone:*")) > 1_000
    assert together == alone
    assert alone.count(DUPLICATE) >= 300 and {KEPT, MERGED} <= set(alone)
    assert match.admit(sightings, "task-batch") == [
        DUPLICATE if status == DUPLICATE else KEPT_AGAIN if status == KEPT else MERGED_AGAIN for status in together
    ]
    assert match.admit(sightings[:50], "another-task") == [DUPLICATE] * 50
    alone_keys = client.keys("teleglas:match:alone:*")
    buckets = {(T + n * 2) // MATCH_ALONE_BUCKET_MS for n in range(2_500)}
    assert sorted(key.decode().rsplit(":", 2)[1] for key in alone_keys) == [CG] * len(buckets)
    assert all(0 < client.ttl(key) <= MATCH_KEEP_S for key in alone_keys)


def test_names_with_line_breaks_or_backslashes_are_still_told_apart(redis_server):
    """A queued item can name anything: the contents travel one a line, so a line break is escaped, and so is a
    backslash, or "A\\nB" written out would be the same line as the escaped line break."""
    client = redis_server.redis()
    client.flushdb()
    match = CrossSourceMatch(client, MATCH_TIME_TOLERANCE_MS, MATCH_USD_TOLERANCE, MATCH_KEEP_S, (CG,))
    names = ["A\nB", "A\\nB", "A\\\nB", "A\\\\nB", "AB", "A\n\nB"]
    batch = [(liq(symbol=name), CG) for name in names]
    assert match.admit(batch, "t") == [KEPT] * len(names)
    assert match.admit(batch[::-1], "u") == [DUPLICATE] * len(names)
