"""`python -m teleglas.demo` (what `make demo` runs): the bundled scenario's alerts, and nothing left running."""
import re
import shutil
import subprocess
import sys

from teleglas.settings import PROJECT_ROOT

EXPECTED_ALERTS = [
    "🔥 LIQUIDATION ALERT\n📍 Exchange: Binance\n📊 Symbol: BTCUSDT\n💰 Price: $56,738.00\n📉 Side: SHORT\n💵 Size: $1,250,000\n⏰ Time: 19:30:45",
    "🐋 WHALE TRADE ALERT\n📍 Exchange: Binance\n📊 Symbol: BTCUSDT\n💰 Price: $56,750.00\n📈 Side: BUY\n💵 Size: $2,500,000\n⏰ Time: 19:31:12",
    "🔥 LIQUIDATION ALERT\n📍 Exchange: Bybit\n📊 Symbol: DOGEUSDT\n💰 Price: $0.1234\n📈 Side: LONG\n💵 Size: $182,500\n⏰ Time: 19:32:05",
    "🐋 WHALE TRADE ALERT\n📍 Exchange: Binance\n📊 Symbol: ETHUSDT\n💰 Price: $2,411.25\n📉 Side: SELL\n💵 Size: $730,000\n⏰ Time: 19:33:40",
]


def test_demo_prints_the_bundled_alerts_and_stops_everything():
    run = subprocess.run([sys.executable, "-m", "teleglas.demo", "--keep-logs"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    blocks = re.split(r"^--- chat .*\n", run.stdout, flags=re.M)[1:]
    assert sorted(block.split("\n\n")[0] for block in blocks) == sorted(EXPECTED_ALERTS)
    assert len(re.findall(r"frame→Telegram \d+\.\d ms", run.stdout)) == 4
    workdir = re.search(r"logs kept in (\S+)", run.stdout).group(1)
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True)
    shutil.rmtree(workdir)
    assert leftovers.stdout == "", f"processes still running: {leftovers.stdout}"
