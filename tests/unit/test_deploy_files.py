"""docker-compose.yml, the Dockerfile and the systemd units checked against Settings and the README, without a
Docker engine; the units also with `systemd-analyze verify` where it exists."""

import re
import shutil
import subprocess

import pytest
import yaml

from teleglas.devstack import local_stack
from teleglas.settings import PROJECT_ROOT, load_settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
README = (PROJECT_ROOT / "README.md").read_text()
ENV_EXAMPLE = (PROJECT_ROOT / ".env.example").read_text()
UNITS = PROJECT_ROOT / "deploy" / "systemd"
PROCESSES = {"listener", "worker", "beat", "flower", "manual-bot", "dashboard"}


def test_compose_runs_every_process_with_redis_and_an_opt_in_demo():
    services = COMPOSE["services"]
    assert set(services) == PROCESSES | {"redis", "coinglass-emulator", "telegram-emulator"}
    assert {name for name, s in services.items() if "demo" in s.get("profiles", [])} == {
        "coinglass-emulator",
        "telegram-emulator",
    }
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and services["redis"]["healthcheck"]["test"] == [
        "CMD",
        "redis-cli",
        "ping",
    ]
    for name in PROCESSES:
        service = services[name]
        assert (
            service["depends_on"]["redis"]["condition"] == "service_healthy" and service["restart"] == "unless-stopped"
        )
        command = " ".join(service["command"])
        assert f"`{_documented(command)}`" in README, f"{name}: {command} is not in the README"


def _documented(command: str) -> str:
    """The part of a command the README names (the options after it are deployment details)."""
    for documented in (
        "python workers/ws_listener.py",
        "python bots/manual.py",
        "celery -A teleglas worker",
        "celery -A teleglas beat",
        "celery -A teleglas flower",
        "python -m teleglas.dashboard",
    ):
        if command.startswith(documented):
            return documented
    raise AssertionError(f"unknown command {command}")


def test_compose_environment_names_are_settings_and_defaults_are_the_demo():
    environment = COMPOSE["x-teleglas-env"]
    for name, value in environment.items():
        assert re.search(rf"^#? ?{name}=", ENV_EXAMPLE, re.MULTILINE), f"{name} is not a documented setting"
        interpolated = re.fullmatch(r"\$\{(\w+)-(.*)\}", str(value))
        if interpolated:  # ${VAR-default}: the variable of the same name, demo value only when unset
            assert interpolated.group(1) == name
    defaults = {
        name: re.fullmatch(r"\$\{\w+-(.*)\}", str(v)).group(1) if str(v).startswith("${") else str(v)
        for name, v in environment.items()
    }
    settings = load_settings(defaults, env_file=None)  # the demo defaults make a valid configuration
    assert (
        settings.coinglass.api_key_ws == local_stack.DEMO_WS_KEY
        and settings.coinglass.api_key == local_stack.DEMO_REST_KEY
    )
    assert (
        settings.telegram.alert_token == local_stack.DEMO_ALERT_TOKEN
        and settings.manual.token == local_stack.DEMO_MANUAL_TOKEN
    )
    emulators = COMPOSE["services"]
    coinglass = " ".join(emulators["coinglass-emulator"]["command"])
    telegram = " ".join(emulators["telegram-emulator"]["command"])
    assert (
        f"--api-key {settings.coinglass.api_key_ws}" in coinglass
        and f"--rest-key {settings.coinglass.api_key}" in coinglass
    )
    assert f"--token {settings.telegram.alert_token}" in telegram and f"--token {settings.manual.token}" in telegram
    assert settings.coinglass.ws_url == "ws://coinglass-emulator:8765/ws-api" and "--port 8765" in coinglass
    assert settings.telegram.api_url == "http://telegram-emulator:8090" and "--port 8090" in telegram


def test_compose_health_checks_use_the_health_endpoints():
    environment = COMPOSE["x-teleglas-env"]
    services = COMPOSE["services"]
    checks = {
        name: " ".join(services[name]["healthcheck"]["test"])
        for name in ("listener", "manual-bot", "flower", "dashboard")
    }
    assert (
        checks["dashboard"]
        == f"CMD python -m teleglas.ops.healthcheck http://127.0.0.1:{environment['DASHBOARD_PORT']}/healthz"
    )
    assert (
        checks["listener"]
        == f"CMD python -m teleglas.ops.healthcheck http://127.0.0.1:{environment['HEALTH_PORT']}/health"
    )
    assert (
        checks["manual-bot"]
        == f"CMD python -m teleglas.ops.healthcheck http://127.0.0.1:{environment['MANUAL_HEALTH_PORT']}/health"
    )
    assert checks["flower"].endswith("--port=5555") is False and "5555/healthcheck" in checks["flower"]
    assert "--port=5555" in services["flower"]["command"]
    worker = services["worker"]["healthcheck"]["test"]
    assert (
        worker[0] == "CMD-SHELL" and "inspect ping --destination celery@$$HOSTNAME" in worker[1]
    )  # compose makes $$ a literal $ for the shell


def test_dockerfile_is_slim_non_root_pinned_and_has_what_the_commands_need():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert (
        re.search(r"^USER teleglas$", dockerfile, re.MULTILINE) and "pip install -c requirements.lock ." in dockerfile
    )
    for needed in ("workers", "bots", "flowerconfig.py", "celeryconfig.py", "teleglas"):
        assert re.search(rf"^COPY .*\b{re.escape(needed)}\b", dockerfile, re.MULTILINE), needed
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pinned = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", lock, re.MULTILINE))
    for package in (
        "celery",
        "redis",
        "websocket-client",
        "requests",
        "pytelegrambotapi",
        "django-environ",
        "flower",
        "prometheus-client",
    ):
        assert package in pinned, package


def test_systemd_units_restart_read_the_environment_file_and_match_the_readme():
    units = {path.stem.removeprefix("teleglas-"): path.read_text() for path in UNITS.glob("teleglas-*.service")}
    assert set(units) == PROCESSES
    for text in units.values():
        assert (
            "EnvironmentFile=/etc/teleglas/teleglas.env" in text
            and "Restart=always" in text
            and "RestartPreventExitStatus=2" in text
        )
        assert "User=teleglas" in text and "WantedBy=teleglas.target" in text
        command = re.search(r"^ExecStart=/opt/teleglas/\.venv/bin/(\S+) (.*)$", text, re.MULTILINE)
        program = "python" if command.group(1) == "python" else "celery"
        args = command.group(2).replace("/opt/teleglas/", "")
        assert f"`{_documented(f'{program} {args}')}`" in README
    assert "KillMode=mixed" in units["worker"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_units_verify(tmp_path):
    """Paths rewritten to this checkout, so `verify` can check the programs exist; any warning fails."""
    venv = PROJECT_ROOT / ".venv"
    for path in UNITS.iterdir():
        text = path.read_text().replace("/opt/teleglas/.venv", str(venv)).replace("/opt/teleglas", str(PROJECT_ROOT))
        (tmp_path / path.name).write_text(text)
    files = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "" and result.stdout.strip() == "", (
        result.stderr + result.stdout
    )


def test_readme_shows_the_dashboard_screenshot():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert "docs/dashboard.png" in images
    assert (PROJECT_ROOT / "docs" / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
