"""The rooms of teleglas/ and the direction of their imports: shapes at the bottom, the steps and concerns above
them, the processes and surfaces on top, the dev harness apart. A lower room never imports a higher one, decide
never imports deliver (the chat spacing is passed in), the REST client knows nothing of Redis, and nothing in
the product imports the dev harness."""

import ast
from pathlib import Path

from teleglas.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "teleglas"
BASE = {"settings", "defines"}  # read by every room
ROOMS = {"model", "state", "ops", "source", "decide", "deliver", "charts", "tasks", "manual", "dashboard", "devstack"}
LOWER = {"model", "state", "ops"}
ALLOWED = {
    "model": {"model"},
    "state": {"model", "state"},
    "ops": {"model", "state", "ops"},
    "source": LOWER | {"source"},
    "decide": LOWER | {"source", "decide"},
    "deliver": LOWER | {"deliver"},
    "charts": LOWER | {"charts", "dashboard"},  # pictures; the recap reads the dashboard's analytics of alerts
    "tasks": LOWER | {"source", "decide", "deliver", "charts", "dashboard", "tasks", "celery"},
    "manual": LOWER | {"source", "decide", "deliver", "charts", "manual"},
    "dashboard": LOWER | {"source", "decide", "dashboard"},
    "devstack": ROOMS | {"celery"},
    "celery": {"ops", "state", "tasks"},  # the app: its signal handlers start the heartbeat and the due-work mover
    "settings": {"model"},
    "defines": set(),
}
# Process entry points that publish through the Celery app (the listener, the dead-letter replay, the manual
# bot's /test_alert, which goes through the alert bot's sender).
APP_USERS = {"teleglas/source/listener/main.py", "teleglas/ops/deadletters.py", "teleglas/manual/bot.py"}


def room_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0] if parts[0] != "__init__" else "celery"


def imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if node.module == "teleglas"]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "teleglas" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_lives_in_a_room_and_the_top_level_stays_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "celery.py", "defines.py", "settings.py"]
    assert {room_of(p) for p in modules()} <= ROOMS | BASE | {"celery"}


def test_imports_point_down():
    wrong = []
    for path in modules():
        room = room_of(path)
        for imported in imported_rooms(path) - BASE - {room}:
            allowed = ALLOWED[room] | ({"celery"} if str(path.relative_to(PROJECT_ROOT)) in APP_USERS else set())
            if imported not in allowed:
                wrong.append(f"{path.relative_to(PROJECT_ROOT)} ({room}) imports {imported}")
    assert wrong == []


def test_nothing_in_the_product_imports_the_dev_harness():
    assert [
        str(p.relative_to(PROJECT_ROOT))
        for p in modules()
        if room_of(p) != "devstack" and "devstack" in imported_rooms(p)
    ] == []


def test_the_rest_client_knows_nothing_of_redis():
    rest = PACKAGE / "source" / "coinglass" / "rest.py"
    assert "state" not in imported_rooms(rest) and "import redis" not in rest.read_text()
