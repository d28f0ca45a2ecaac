"""`celery -A teleglas flower` as users run it: basic auth from MONITOR_USER/MONITOR_PASSWORD, and no start
without them (Flower shows task arguments)."""

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


def test_flower_refuses_requests_without_credentials(make_stack):
    stack = make_stack(settings_env={"MONITOR_USER": "ops", "MONITOR_PASSWORD": "s3cret-monitor-pass"})
    stack.start_redis()
    port = free_port()
    flower = stack.start_flower(port)
    wait_until(
        lambda: get(f"http://127.0.0.1:{port}/healthcheck") == 200 or not flower.running,
        60,
        0.2,
        what="Flower to answer",
    )
    assert flower.running, flower.log_text()[-2000:]
    assert get(f"http://127.0.0.1:{port}/") == 401
    assert get(f"http://127.0.0.1:{port}/api/tasks") == 401
    assert get(f"http://127.0.0.1:{port}/", "ops", "wrong") == 401
    assert get(f"http://127.0.0.1:{port}/", "ops", "s3cret-monitor-pass") == 200
    assert "s3cret-monitor-pass" not in flower.log_text()


def test_flower_does_not_start_without_credentials(make_stack):
    stack = make_stack()
    stack.start_redis()
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "teleglas", "flower", f"--port={free_port()}"],
        cwd=PROJECT_ROOT,
        env=stack.env(MONITOR_USER="", MONITOR_PASSWORD=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Flower needs MONITOR_USER and MONITOR_PASSWORD" in result.stderr
