"""`make bench`: every benchmark of issue 10 with its floor, measured in the same run, in one table.

.venv/bin/python -m bench.run            # the full sizes (about 6 minutes on 2 cores)
.venv/bin/python -m bench.run --quick    # tiny sizes: checks the harness, the figures mean nothing
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import cascade, charts, dashboard, ingest, latency, worker

DIGEST_GROUP_INTERVAL_S = 10.0  # the default the cascade target is measured against


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def measure(quick: bool, workdir: Path) -> dict:
    sizes = (
        {
            "ingest": 300,
            "worker": 300,
            "worker_per_event": 100,
            "latency_s": 1.0,
            "cascade": 600,
            "cascade_s": 2.0,
            "history": 2_000,
            "charts": 3,
        }
        if quick
        else {
            "ingest": 50_000,
            "worker": 50_000,
            "worker_per_event": 20_000,
            "latency_s": 20.0,
            "cascade": 50_000,
            "cascade_s": 30.0,
            "history": 50_000,
            "charts": 30,
        }
    )
    results = {"sizes": sizes}
    results["ingest"] = ingest.run(workdir / "ingest", sizes["ingest"], settle_s=0.5 if quick else 2.0)
    results["worker"] = worker.run(workdir / "worker", sizes["worker"], per_event_count=sizes["worker_per_event"])
    results["latency"] = latency.run(workdir / "latency", sizes["latency_s"])
    results["cascade"] = cascade.run(workdir / "cascade", sizes["cascade"], sizes["cascade_s"], quick_rules=quick)
    results["dashboard"] = dashboard.run(workdir / "dashboard", sizes["history"])
    results["charts"] = charts.run(workdir / "charts", sizes["charts"])
    return results


def report(results: dict) -> str:
    i, w, lat, c = results["ingest"], results["worker"], results["latency"], results["cascade"]
    met = lambda ok: "yes" if ok else "NO"  # noqa: E731
    rows = [
        ("benchmark", "figure", "floor", "ratio", "target", "met"),
        (
            "listener ingest, batched",
            f"{i['batched']:,.0f} ev/s",
            f"{i['floor']:,.0f} ev/s",
            f"{i['batched'] / i['floor']:.0%}",
            ">= 10,000 ev/s, >= 50% of floor",
            met(i["batched"] >= 10_000 and i["batched"] >= 0.5 * i["floor"]),
        ),
        (
            "listener ingest, one task/event",
            f"{i['per_event']:,.0f} ev/s",
            f"{i['floor']:,.0f} ev/s",
            f"{i['per_event'] / i['floor']:.0%}",
            "(the slower shape)",
            "-",
        ),
        (
            "listener ingest, 3 sources at once",
            f"{i['three_sources']:,.0f} ev/s",
            f"{i['floor']:,.0f} ev/s",
            f"{i['three_sources'] / i['floor']:.0%}",
            ">= 50% of the batched row",  # a third of the events come one a frame (Binance)
            met(i["three_sources"] >= 0.5 * i["batched"]),
        ),
        (
            "worker evaluation, batched",
            f"{w['batched']:,.0f} ev/s",
            f"{w['floor']:,.0f} tasks/s",
            f"{w['batched'] / w['floor']:.1f}x",
            ">= 25,000 ev/s (5 % qualifying)",
            met(w["batched"] >= 25_000),
        ),
        (
            "worker evaluation, none qualifying",
            f"{w['none_qualifying']:,.0f} ev/s",
            f"{w['floor']:,.0f} tasks/s",
            f"{w['none_qualifying'] / w['floor']:.1f}x",
            ">= 40,000 ev/s",
            met(w["none_qualifying"] >= 40_000),
        ),
        (
            "worker evaluation, one task/event",
            f"{w['per_event']:,.0f} ev/s",
            f"{w['floor']:,.0f} tasks/s",
            f"{w['per_event'] / w['floor']:.1f}x",
            "(the slower shape)",
            "-",
        ),
    ]
    for label in ("p50", "p95", "p99"):
        rows.append(
            (
                f"end-to-end {label} @ 500 ev/s",
                f"{lat[f'{label}_ms']:.1f} ms",
                f"{lat[f'floor_{label}_ms']:.1f} ms",
                f"{lat[f'{label}_ms'] / lat[f'floor_{label}_ms']:.1f}x",
                "<= 100 ms" if label == "p99" else "",
                met(lat["p99_ms"] <= 100) if label == "p99" else "",
            )
        )
    rows += [
        (
            "cascade: last message after last event",
            f"{c['last_message_after_s']:.1f} s",
            "",
            "",
            f"<= {DIGEST_GROUP_INTERVAL_S:.0f} s (one digest interval)",
            met(c["last_message_after_s"] <= DIGEST_GROUP_INTERVAL_S),
        ),
        (
            "cascade: events in / qualifying / delivered",
            f"{c['events_in']:,} / {c['qualifying']:,} / {c['delivered']:,}",
            "",
            "",
            "delivered = qualifying",
            met(c["delivered"] == c["qualifying"]),
        ),
        (
            "cascade: lost / duplicates",
            f"{c['lost']} / {c['duplicates']}",
            "",
            "",
            "0 / 0",
            met(c["lost"] == 0 and c["duplicates"] == 0),
        ),
        (
            "cascade: messages / HTTP 429",
            f"{c['messages']} / {c['http_429']}",
            "",
            "",
            "429 = 0",
            met(c["http_429"] == 0),
        ),
    ]
    d = results["dashboard"]
    rows += [
        (
            f"dashboard live tick, {d['entries']:,} + {d['entries']:,} history",
            f"{d['live_tick_ms']:.0f} ms (max {d['live_tick_max_ms']:.0f})",
            "",
            "",
            "<= 500 ms (its interval)",
            met(d["live_tick_max_ms"] <= 500),
        ),
        (
            "dashboard first load of that history",
            f"{d['load_s']:.1f} s in {d['load_ticks']} ticks (max {d['load_tick_max_ms']:.0f} ms)",
            "",
            "",
            "each tick <= 1,000 ms (2 s to the page)",
            met(d["load_tick_max_ms"] <= 1_000),
        ),
        (
            "dashboard analytics (own thread)",
            f"{d['analytics_ms']:.0f} ms (first {d['analytics_first_ms']:.0f})",
            "",
            "",
            "<= 5,000 ms (its interval)",
            met(d["analytics_first_ms"] <= 5_000),
        ),
        ("dashboard history in memory", f"{d['memory_mb']:.0f} MB", "", "", "", "-"),
    ]
    ch = results["charts"]
    for kind, figures in ch["render"].items():
        rows.append(
            (
                f"chart render, {kind} (p50 / p95)",
                f"{figures['p50_ms']:.0f} / {figures['p95_ms']:.0f} ms",
                "",
                "",
                "p95 <= 10,000 ms (CHART_RENDER_TIMEOUT)",
                met(figures["p95_ms"] <= 10_000),
            )
        )
    m = ch["memory"]
    rows.append(
        (
            "worker -c 2 RSS, charts on: idle / rendered",
            f"{m['idle_mb']:.0f} / {m['rendered_mb']:.0f} MB",
            "",
            "",
            f"(a rendering pool process +{m['pool_growth_mb']:.0f} MB)",
            "-",
        )
    )
    header = (
        f"TELEGLAS benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()} (end-to-end: {lat['alerts']} alerts; cascade: {c['ingest_seconds']:.1f} "
        f"s of events)"
    )
    return header + "\n" + table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the harness works")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="teleglas-bench-") as tmp:
        results = measure(args.quick, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
