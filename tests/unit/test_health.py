"""The health verdict: which reasons make the alert system unhealthy."""

from teleglas.ops.health import HealthThresholds, assess

OK = {"redis_reachable": True, "mode": "websocket", "is_connected": True, "worker_heartbeat_age_s": 2.0}
LIMITS = HealthThresholds(worker_heartbeat_stale_s=30)


def test_all_well_has_no_reasons():
    assert assess(OK, LIMITS) == []


def test_each_failure_names_its_reason():
    assert assess({**OK, "redis_reachable": False}, LIMITS) == ["redis unreachable"]
    assert assess({**OK, "is_connected": False}, LIMITS) == ["websocket disconnected"]
    assert assess({**OK, "worker_heartbeat_age_s": None}, LIMITS) == ["no worker heartbeat"]
    assert assess({**OK, "worker_heartbeat_age_s": 31.0}, LIMITS) == ["worker heartbeat 31 s old"]
    assert assess({**OK, "is_connected": False, "worker_heartbeat_age_s": None}, LIMITS) == [
        "websocket disconnected",
        "no worker heartbeat",
    ]


def test_polling_mode_needs_a_recent_whale_poll():
    thresholds = HealthThresholds(worker_heartbeat_stale_s=30, whale_poll_stale_s=75)
    base = {"redis_reachable": True, "mode": "polling", "is_connected": False, "worker_heartbeat_age_s": 1.0}
    assert assess({**base, "last_whale_poll_age_s": 10.0}, thresholds) == []  # no stream is fine in polling mode
    assert assess({**base, "last_whale_poll_age_s": None}, thresholds) == [
        "no whale poll yet (is celery beat running?)"
    ]
    assert assess({**base, "last_whale_poll_age_s": 90.0}, thresholds) == ["last whale poll 90 s ago"]
