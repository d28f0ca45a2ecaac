"""`celery -A teleglas flower` as users run it: basic auth from FLOWER_USER/FLOWER_PASSWORD, never the read-only
dashboard's pair (Flower's API can send any task), and no start without them (Flower shows task arguments)."""

import base64
import subprocess
import sys
import urllib.error
import urllib.request

from teleglas.devstack.local_stack import free_port, wait_until
from teleglas.settings import PROJECT_ROOT


def get(url: str, user: str | None = None, password: str | None = None) -> int:
    request = urllib.request.Request(url)
    if user is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


ADMIN = ("admin", "s3cret-admin-pass")
DASHBOARD = ("viewer", "s3cret-viewer-pass")


def test_flower_answers_the_admin_and_refuses_everyone_else_the_dashboard_pair_included(make_stack):
    stack = make_stack(
        settings_env={
            "FLOWER_USER": ADMIN[0],
            "FLOWER_PASSWORD": ADMIN[1],
            "DASHBOARD_USER": DASHBOARD[0],
            "DASHBOARD_PASSWORD": DASHBOARD[1],
        }
    )
    stack.start_redis()
    stack.start_worker()
    port = free_port()
    flower = stack.start_flower(port)
    wait_until(
        lambda: get(f"http://127.0.0.1:{port}/healthcheck") == 200 or not flower.running,
        60,
        0.2,
        what="Flower to answer",
    )
    assert flower.running, flower.log_text()[-2000:]
    base = f"http://127.0.0.1:{port}"
    for path in ("/", "/api/tasks", "/api/workers"):
        assert get(base + path) == 401, path
        assert get(base + path, ADMIN[0], "wrong") == 401, path
        assert get(base + path, *DASHBOARD) == 401, path  # read-only credentials are not admin credentials
    assert get(base + "/", *ADMIN) == 200
    wait_until(lambda: get(base + "/api/workers?refresh=1", *ADMIN) == 200, 20, 0.5, what="the workers API")
    assert get(base + "/api/tasks", *ADMIN) == 200
    assert ADMIN[1] not in flower.log_text() and DASHBOARD[1] not in flower.log_text()


def test_flower_does_not_start_without_credentials(make_stack):
    stack = make_stack()
    stack.start_redis()
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "teleglas", "flower", f"--port={free_port()}"],
        cwd=PROJECT_ROOT,
        env=stack.env(FLOWER_USER="", FLOWER_PASSWORD="", DASHBOARD_USER="viewer", DASHBOARD_PASSWORD=DASHBOARD[1]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Flower needs FLOWER_USER and FLOWER_PASSWORD" in result.stderr  # the dashboard's pair is not enough
