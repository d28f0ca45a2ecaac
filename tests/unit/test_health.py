"""The health verdict: which reasons make the alert system unhealthy."""
from teleglas.health import HealthThresholds, assess

OK = {"redis_reachable": True, "mode": "websocket", "is_connected": True, "worker_heartbeat_age_s": 2.0}
LIMITS = HealthThresholds(worker_heartbeat_stale_s=30)


def test_all_well_has_no_reasons():
    assert assess(OK, LIMITS) == []


def test_each_failure_names_its_reason():
    assert assess({**OK, "redis_reachable": False}, LIMITS) == ["redis unreachable"]
    assert assess({**OK, "is_connected": False}, LIMITS) == ["websocket disconnected"]
    assert assess({**OK, "worker_heartbeat_age_s": None}, LIMITS) == ["no worker heartbeat"]
    assert assess({**OK, "worker_heartbeat_age_s": 31.0}, LIMITS) == ["worker heartbeat 31 s old"]
    assert assess({**OK, "is_connected": False, "worker_heartbeat_age_s": None}, LIMITS) == ["websocket disconnected", "no worker heartbeat"]
