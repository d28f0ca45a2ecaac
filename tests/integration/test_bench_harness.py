"""The benchmark and chaos harnesses stay working: a tiny run of each through the product's processes. The
figures of a tiny run mean nothing; the accounting (nothing lost, nothing twice) must hold all the same."""

import json
import math
import subprocess
import sys

from teleglas.settings import PROJECT_ROOT


def run(*args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_bench_quick_run_prints_its_table(tmp_path):
    result = run("bench.run", "--quick", "--json", str(tmp_path / "bench.json"), timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "bench.json").read_text())
    for shape in ("batched", "per_event", "floor"):
        assert figures["ingest"][shape] > 0 and figures["worker"][shape] > 0
    assert figures["ingest"]["parse_floor"] > 0
    assert figures["worker"]["none_qualifying"] > 0
    latency, cascade = figures["latency"], figures["cascade"]
    assert latency["alerts"] > 0 and all(
        math.isfinite(latency[k]) and latency[k] > 0 for k in ("p99_ms", "floor_p99_ms")
    )
    assert cascade["events_in"] == figures["sizes"]["cascade"] and cascade["qualifying"] > 0
    assert (cascade["delivered"], cascade["lost"], cascade["duplicates"], cascade["http_429"]) == (
        cascade["qualifying"],
        0,
        0,
        0,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TELEGLAS benchmarks, ") and any(
        line.startswith("listener ingest, batched") for line in lines
    )
    assert any(line.startswith("cascade: lost / duplicates") and "0 / 0" in line for line in lines)
    dashboard = figures["dashboard"]
    assert dashboard["entries"] == figures["sizes"]["history"] and dashboard["load_ticks"] >= 1
    assert all(dashboard[k] > 0 for k in ("live_tick_ms", "analytics_ms", "memory_mb"))
    assert any(line.startswith("dashboard live tick") for line in lines)
    charts = figures["charts"]
    assert all(charts["render"][kind]["p50_ms"] > 0 for kind in ("storm", "summary", "digest", "/liq", "/oi", "recap"))
    assert charts["memory"]["rendered_mb"] > 0
    assert any(line.startswith("chart render, storm (p50 / p95)") for line in lines)


def test_chaos_quick_run_survives_a_redis_kill_with_the_default_settings():
    """The row that found kombu's crash on a Redis restart (teleglas/ops/broker_transport.py); the run without a
    fault comes first, as the tail every bound is measured against."""
    result = run("bench.chaos", "--quick", "--only", "Redis kill", timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "default settings (visibility timeout 30 s)" in result.stdout
    (reference,) = [line for line in result.stdout.splitlines() if line.startswith("no fault")]
    (row,) = [
        line.removeprefix("Redis kill -9 + restart").split()
        for line in result.stdout.splitlines()
        if line.startswith("Redis kill -9")
    ]
    assert reference.endswith("yes")
    events_in, qualifying, delivered, lost, duplicates = row[:5]
    assert (
        int(events_in.replace(",", "")) > 0
        and qualifying == delivered
        and (lost, duplicates) == ("0", "0")
        and row[-1] == "yes"
    )
