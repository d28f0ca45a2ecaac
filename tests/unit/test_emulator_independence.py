"""The emulators share no code with the clients they test: a misreading of a provider's docs in the product cannot
hide in an emulator built from the same functions. Checked twice: no import statement in the emulator package names
a teleglas module outside it, and the emulators run in a process where every other teleglas module is refused."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from teleglas.settings import PROJECT_ROOT

EMULATORS = PROJECT_ROOT / "teleglas" / "devstack" / "emulators"
OWN = "teleglas.devstack.emulators"


def imported_modules(path: Path) -> list[str]:
    """Every module an import statement in `path` names, at any depth (function-level imports too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            if node.module in ("teleglas", "teleglas.devstack"):  # `from teleglas import defines`
                names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(f"<relative {node.module}>")
    return names


def test_no_emulator_module_imports_teleglas_outside_the_emulators():
    modules = sorted(EMULATORS.rglob("*.py"))
    assert {m.name for m in modules} >= {"telegram.py", "telegram_html.py", "coinglass.py", "coinglass_rest.py"}
    for module in modules:
        foreign = [
            name
            for name in imported_modules(module)
            if name.startswith("<relative") or (name.split(".")[0] == "teleglas" and not name.startswith(OWN))
        ]
        assert foreign == [], f"{module.name} imports {foreign}"


RUN_ALONE = f"""
import importlib.abc, json, sys, types, urllib.request
sys.path.insert(0, {str(PROJECT_ROOT)!r})
for name, folder in (("teleglas", "teleglas"), ("teleglas.devstack", "teleglas/devstack")):
    package = types.ModuleType(name)  # the parents without their __init__ (the product's Celery app)
    package.__path__ = [{str(PROJECT_ROOT)!r} + "/" + folder]
    sys.modules[name] = package

class RefuseProduct(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.startswith("teleglas.") and not name.startswith("{OWN}"):
            raise ImportError("an emulator reached for product code: " + name)
        return None

sys.meta_path.insert(0, RefuseProduct())
from teleglas.devstack.emulators.telegram import TelegramEmulator
from teleglas.devstack.emulators.coinglass import CoinGlassEmulator

telegram = TelegramEmulator({{"123:abc"}}).start()
body = json.dumps({{"chat_id": 42, "text": "<b>hi</b>", "parse_mode": "HTML"}}).encode()
request = urllib.request.Request(telegram.url + "/bot123:abc/sendMessage", body, {{"Content-Type": "application/json"}})
print(json.load(urllib.request.urlopen(request, timeout=5))["result"]["text"])
coinglass = CoinGlassEmulator([], {{"k"}}).start()
request = urllib.request.Request(
    f"http://127.0.0.1:{{coinglass.port}}/api/futures/supported-coins", headers={{"CG-API-KEY": "k"}}
)
print(json.load(urllib.request.urlopen(request, timeout=5))["code"])
coinglass.stop()
telegram.stop()
print(sorted(m for m in sys.modules if m.startswith("teleglas.") and not m.startswith(("{OWN}", "teleglas.devstack"))))
"""


def test_the_emulators_serve_with_every_other_teleglas_module_refused():
    done = subprocess.run([sys.executable, "-c", RUN_ALONE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["hi", "0", "[]"]
