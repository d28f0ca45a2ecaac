"""`python -m teleglas.devstack.demo` (what `make demo` runs): the bundled scenario's alerts, and nothing left
running."""

import re
import shutil
import subprocess
import sys

from teleglas.settings import PROJECT_ROOT

# The listener's start-up notice, then the alerts. The demo chat is a group: Telegram allows it one message
# every 3 s, so the three alerts that follow the first within a second arrive together as one digest.
EXPECTED_MESSAGES = [
    "✅ TELEGLAS online · WebSocket stream\nChannels: liquidationOrders, futures_trades@Binance_BTCUSDT@10000, "
    "futures_trades@Binance_ETHUSDT@10000",
    "🔥 LIQUIDATION ALERT\n📍 Exchange: Binance\n📊 Symbol: BTCUSDT\n💰 Price: $56,738.00\n📉 Side: SHORT\n💵 Size: "
    "$1,250,000\n⏰ Time: 19:30:45",
    "🧾 DIGEST · 3 alerts\n🐋 BTCUSDT BUY $2,500,000 · Binance · 19:31:12\n🔥 DOGEUSDT LONG $282,500 · Bybit · "
    "19:32:05\n🐋 ETHUSDT SELL $1,730,000 · Binance · 19:33:40",
]


def test_demo_prints_the_bundled_alerts_and_stops_everything():
    run = subprocess.run(
        [sys.executable, "-m", "teleglas.devstack.demo", "--keep-logs"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    blocks = re.split(r"^--- chat .*\n", run.stdout, flags=re.M)[1:]
    assert [block.split("\n\n")[0] for block in blocks] == EXPECTED_MESSAGES
    assert len(re.findall(r"frame→Telegram \d+\.\d ms", run.stdout)) == 1  # a digest has no single frame
    workdir = re.search(r"logs kept in (\S+)", run.stdout).group(1)
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True)
    shutil.rmtree(workdir)
    assert leftovers.stdout == "", f"processes still running: {leftovers.stdout}"
