"""`make bench`: the benchmarks of issues 10 and 24 in one table, each figure beside its floor (measured in the same
run) and its target, PASS or FAIL. The product's own processes run with the settings a fresh deploy gets, except
what a row's module names as its workload (the end-to-end row's 1 ms chat spacing, the cascade's shorter windows).

.venv/bin/python -m bench.run                          # every row at its full size (about 16 minutes on 2 cores)
.venv/bin/python -m bench.run --only latency,cascade  # only those rows (make bench ONLY=latency,cascade)
.venv/bin/python -m bench.run --memory-seconds 60     # the memory rows over 1 minute instead of 10
.venv/bin/python -m bench.run --quick                 # tiny sizes: checks the harness, the figures mean nothing
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import cascade, charts, dashboard, ingest, latency, memory, worker
from teleglas.settings import Settings, load_settings

Row = tuple[str, str, str, str, str]  # benchmark, figure, floor, target, result
HEADER: Row = ("benchmark", "figure", "floor", "target", "result")
NO_TARGET = "-"
LATENCY_P99_MAX_MS = 50.0
LATENCY_P50_MAX_FLOORS = 3.0  # p50 within this many times the two-hop Celery floor's p50
INGEST_MIN_EV_S = 50_000
INGEST_MIN_FLOOR_SHARE = 0.5
WORKER_MIN_EV_S = 25_000
WORKER_QUIET_MIN_EV_S = 40_000
CHART_P95_MAX_MS = 10_000  # CHART_RENDER_TIMEOUT's default: a slower chart is sent as text
DASHBOARD_TICK_MAX_MS = 500  # its refresh interval
DASHBOARD_LOAD_TICK_MAX_MS = 1_000
DASHBOARD_ANALYTICS_MAX_MS = 5_000  # its interval

FULL_SIZES = {
    "ingest": 50_000,
    "ingest_settle_s": 2.0,
    "worker": 50_000,
    "worker_per_event": 20_000,
    "latency_s": 20.0,
    "cascade": 50_000,
    "cascade_s": 30.0,
    "cascade_quick_rules": False,
    "memory_s": 600.0,
    "history": 50_000,
    "charts": 30,
}
QUICK_SIZES = {
    "ingest": 300,
    "ingest_settle_s": 0.5,
    "worker": 300,
    "worker_per_event": 100,
    "latency_s": 1.0,
    "cascade": 600,
    "cascade_s": 2.0,
    "cascade_quick_rules": True,  # 3 s windows: the cascade is 2 s long
    "memory_s": 10.0,
    "history": 2_000,
    "charts": 3,
}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def span(seconds: float) -> str:
    """600 → "10 min", 10 → "10 s": a run's length as people say it."""
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def ingest_rows(i: dict, _defaults: Settings) -> list[Row]:
    floor = f"{i['parse_floor']:,.0f} ev/s"
    return [
        (
            "listener ingest, batched",
            f"{i['batched']:,.0f} ev/s ({i['batched'] / i['parse_floor']:.0%} of floor)",
            floor,
            f">= {INGEST_MIN_EV_S:,} ev/s, >= {INGEST_MIN_FLOOR_SHARE:.0%} of floor",
            verdict(i["batched"] >= INGEST_MIN_EV_S and i["batched"] >= INGEST_MIN_FLOOR_SHARE * i["parse_floor"]),
        ),
        (
            "listener ingest, one task/event",
            f"{i['per_event']:,.0f} ev/s ({i['per_event'] / i['parse_floor']:.0%} of floor)",
            floor,
            "(the slower shape)",
            NO_TARGET,
        ),
        (
            "listener ingest, 3 sources at once",
            f"{i['three_sources']:,.0f} ev/s ({i['three_sources'] / i['parse_floor']:.0%} of floor)",
            floor,
            ">= 50% of the batched row",  # a third of the events come one a frame (Binance)
            verdict(i["three_sources"] >= 0.5 * i["batched"]),
        ),
        (
            "  floor: parse and push",
            f"{i['parse_floor']:,.0f} ev/s",
            "",
            "(json.loads of the frames + pipelined LPUSH of batches of the listener's size)",
            NO_TARGET,
        ),
        (
            "  floor: raw push",
            f"{i['floor']:,.0f} ev/s",
            "",
            "(pipelined LPUSH of the same batches)",
            NO_TARGET,
        ),
    ]


def worker_rows(w: dict, _defaults: Settings) -> list[Row]:
    floor = f"{w['floor']:,.0f} tasks/s"
    return [
        (
            "worker evaluation, batched",
            f"{w['batched']:,.0f} ev/s ({w['batched'] / w['floor']:.1f}x floor)",
            floor,
            f">= {WORKER_MIN_EV_S:,} ev/s (5 % qualifying)",
            verdict(w["batched"] >= WORKER_MIN_EV_S),
        ),
        (
            "worker evaluation, none qualifying",
            f"{w['none_qualifying']:,.0f} ev/s ({w['none_qualifying'] / w['floor']:.1f}x floor)",
            floor,
            f">= {WORKER_QUIET_MIN_EV_S:,} ev/s",
            verdict(w["none_qualifying"] >= WORKER_QUIET_MIN_EV_S),
        ),
        (
            "worker evaluation, one task/event",
            f"{w['per_event']:,.0f} ev/s ({w['per_event'] / w['floor']:.1f}x floor)",
            floor,
            "(the slower shape)",
            NO_TARGET,
        ),
    ]


def latency_rows(lat: dict, _defaults: Settings) -> list[Row]:
    load = f"@ {latency.RATE_EV_S:,} ev/s"
    rows = []
    for label in ("p50", "p95", "p99"):
        figure, floor = lat[f"{label}_ms"], lat[f"floor_{label}_ms"]
        target, result = "(no target)", NO_TARGET
        if label == "p50":
            target = f"<= {LATENCY_P50_MAX_FLOORS:.0f}x floor ({LATENCY_P50_MAX_FLOORS * floor:,.1f} ms)"
            result = verdict(figure <= LATENCY_P50_MAX_FLOORS * floor)
        elif label == "p99":
            target, result = f"<= {LATENCY_P99_MAX_MS:.0f} ms", verdict(figure <= LATENCY_P99_MAX_MS)
        rows.append(
            (
                f"end-to-end {label} {load}",
                f"{figure:,.1f} ms ({figure / floor:.1f}x floor)",
                f"{floor:,.1f} ms",
                target,
                result,
            )
        )
    return rows


def cascade_rows(c: dict, defaults: Settings) -> list[Row]:
    interval_s = defaults.rules.digest_group_interval_s
    rows: list[Row] = [
        (
            "cascade: last message after last event",
            f"{c['last_message_after_s']:.1f} s",
            "",
            f"<= {interval_s:.0f} s (one digest interval)",
            verdict(c["last_message_after_s"] <= interval_s),
        )
    ]
    order = list(cascade.TAIL_STEPS)
    steps = sorted(
        (name for name, seconds in c["tail"].items() if seconds is not None),
        key=lambda name: (round(c["tail"][name], 2), order.index(name)),  # in time; a tie in the steps' order
    )
    rows += [(f"  tail: {cascade.TAIL_STEPS[name]}", f"{c['tail'][name]:+.2f} s", "", "", NO_TARGET) for name in steps]
    return rows + [
        (
            "cascade: events in / qualifying / delivered",
            f"{c['events_in']:,} / {c['qualifying']:,} / {c['delivered']:,}",
            "",
            "delivered = qualifying",
            verdict(c["delivered"] == c["qualifying"]),
        ),
        (
            "cascade: lost / duplicates",
            f"{c['lost']} / {c['duplicates']}",
            "",
            "0 / 0",
            verdict(c["lost"] == 0 and c["duplicates"] == 0),
        ),
        (
            "cascade: messages / HTTP 429",
            f"{c['messages']} / {c['http_429']}",
            "",
            "429 = 0",
            verdict(c["http_429"] == 0),
        ),
    ]


def memory_rows(m: dict, _defaults: Settings) -> list[Row]:
    early, end = span(m["early_s"]), span(m["seconds"])
    rows: list[Row] = [
        (
            f"memory run @ {memory.RATE_EV_S:,} ev/s for {end}",
            f"{m['rate_ev_s']:,.0f} ev/s achieved, {m['queued_tasks']:,} tasks queued at the end",
            "",
            "(the load the rows below carry)",
            NO_TARGET,
        )
    ]
    for name, what in (("listener", "listener RSS"), ("worker", "worker -c 2 RSS, main + pool summed")):
        first, last = m[name]["early_mb"], m[name]["end_mb"]
        rows.append(
            (
                f"{what}, {early} / {end}",
                f"{first:.0f} / {last:.0f} MB ({last / first - 1:+.1%})",
                "",
                f"{end} within {memory.GROWTH_LIMIT:.0%} of {early}",
                verdict(abs(last - first) <= memory.GROWTH_LIMIT * first),
            )
        )
    return rows


def dashboard_rows(d: dict, _defaults: Settings) -> list[Row]:
    return [
        (
            f"dashboard live tick, {d['entries']:,} + {d['entries']:,} history",
            f"{d['live_tick_ms']:.0f} ms (max {d['live_tick_max_ms']:.0f})",
            "",
            f"<= {DASHBOARD_TICK_MAX_MS:,} ms (its interval)",
            verdict(d["live_tick_max_ms"] <= DASHBOARD_TICK_MAX_MS),
        ),
        (
            "dashboard first load of that history",
            f"{d['load_s']:.1f} s in {d['load_ticks']} ticks (max {d['load_tick_max_ms']:.0f} ms)",
            "",
            f"each tick <= {DASHBOARD_LOAD_TICK_MAX_MS:,} ms (2 s to the page)",
            verdict(d["load_tick_max_ms"] <= DASHBOARD_LOAD_TICK_MAX_MS),
        ),
        (
            "dashboard analytics (own thread)",
            f"{d['analytics_ms']:.0f} ms (first {d['analytics_first_ms']:.0f})",
            "",
            f"<= {DASHBOARD_ANALYTICS_MAX_MS:,} ms (its interval)",
            verdict(d["analytics_first_ms"] <= DASHBOARD_ANALYTICS_MAX_MS),
        ),
        ("dashboard history in memory", f"{d['memory_mb']:.0f} MB", "", "(no target)", NO_TARGET),
    ]


def charts_rows(ch: dict, _defaults: Settings) -> list[Row]:
    rows: list[Row] = [
        (
            f"chart render, {kind} (p50 / p95)",
            f"{figures['p50_ms']:.0f} / {figures['p95_ms']:.0f} ms",
            "",
            f"p95 <= {CHART_P95_MAX_MS:,} ms (CHART_RENDER_TIMEOUT)",
            verdict(figures["p95_ms"] <= CHART_P95_MAX_MS),
        )
        for kind, figures in ch["render"].items()
    ]
    m = ch["memory"]
    rows.append(
        (
            "worker -c 2 RSS, charts on: idle / rendered",
            f"{m['idle_mb']:.0f} / {m['rendered_mb']:.0f} MB",
            "",
            f"(a rendering pool process +{m['pool_growth_mb']:.0f} MB)",
            NO_TARGET,
        )
    )
    return rows


@dataclass(frozen=True)
class Bench:
    """One group of rows: how to measure it (a work directory, the sizes) and how to print its figures."""

    measure: Callable[[Path, dict], dict]
    rows: Callable[[dict, Settings], list[Row]]


BENCHES = {
    "ingest": Bench(lambda d, s: ingest.run(d, s["ingest"], settle_s=s["ingest_settle_s"]), ingest_rows),
    "worker": Bench(lambda d, s: worker.run(d, s["worker"], per_event_count=s["worker_per_event"]), worker_rows),
    "latency": Bench(lambda d, s: latency.run(d, s["latency_s"]), latency_rows),
    "cascade": Bench(
        lambda d, s: cascade.run(d, s["cascade"], s["cascade_s"], quick_rules=s["cascade_quick_rules"]), cascade_rows
    ),
    "memory": Bench(lambda d, s: memory.run(d, s["memory_s"]), memory_rows),
    "dashboard": Bench(lambda d, s: dashboard.run(d, s["history"]), dashboard_rows),
    "charts": Bench(lambda d, s: charts.run(d, s["charts"]), charts_rows),
}


def measure(names: list[str], sizes: dict, workdir: Path) -> dict:
    results: dict = {"sizes": sizes}
    for name in names:
        results[name] = BENCHES[name].measure(workdir / name, sizes)
    return results


def report(results: dict) -> str:
    """The table of every group that ran, under a line saying where and on how much load."""
    defaults = load_settings({}, env_file=Path(os.devnull))  # what a fresh deploy runs with
    rows = [HEADER]
    for name, bench in BENCHES.items():
        if name in results:
            rows += bench.rows(results[name], defaults)
    loads = []
    if "latency" in results:
        lat = results["latency"]
        loads.append(f"end-to-end: {lat['alerts']} alerts at {lat['rate_ev_s']:,.0f} ev/s achieved")
    if "cascade" in results:
        loads.append(f"cascade: {results['cascade']['ingest_seconds']:.1f} s of events")
    header = (
        f"TELEGLAS benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}" + (f" ({'; '.join(loads)})" if loads else "")
    )
    return header + "\n" + table(rows)


def row_names(text: str) -> list[str]:
    """`--only latency,cascade`: the groups to run, in the table's order."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - BENCHES.keys()
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"rows are {', '.join(BENCHES)}; not {', '.join(sorted(unknown)) or text!r}")
    return [name for name in BENCHES if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the harness works")
    parser.add_argument(
        "--only",
        type=row_names,
        default=list(BENCHES),
        metavar="ROWS",
        help=f"run only these rows, comma-separated: {','.join(BENCHES)}",
    )
    parser.add_argument(
        "--memory-seconds", type=float, metavar="SECONDS", help="how long the memory rows run (default 600, --quick 10)"
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    if args.memory_seconds is not None:
        sizes = {**sizes, "memory_s": args.memory_seconds}
    with tempfile.TemporaryDirectory(prefix="teleglas-bench-") as tmp:
        results = measure(args.only, sizes, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
