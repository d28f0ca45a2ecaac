"""docker-compose.yml, the Dockerfile and the systemd units checked against Settings and the README, without a
Docker engine; the units also with `systemd-analyze verify` where it exists."""

import re
import shutil
import subprocess
from dataclasses import fields

import pytest
import yaml

from teleglas.devstack import local_stack
from teleglas.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

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
    assert "--appendonly yes" in redis_command and "--requirepass ${REDIS_PASSWORD:?" in redis_command
    assert services["redis"]["healthcheck"]["test"] == [
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


DEMO_ENV = dict(
    line.split("=", 1)
    for line in (PROJECT_ROOT / "deploy" / "compose-demo.env").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
PRODUCTION = sorted(name for name, s in COMPOSE["services"].items() if "demo" not in s.get("profiles", []))
_REFERENCE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
# Present but possibly empty: no WebSocket key is REST polling mode; no alert chats leaves the subscribers.
MAY_BE_EMPTY = {"COINGLASS_API_KEY_WS", "TELEGRAM_ALERT_CHAT_IDS"}
REQUIRED = {
    "REDIS_PASSWORD",
    "COINGLASS_WS_URL",
    "COINGLASS_API_URL",
    "COINGLASS_API_KEY",
    "TELEGRAM_API_URL",
    "TELEGRAM_ALERT_TOKEN",
    "TELEGRAM_TOKEN",
    "DASHBOARD_USER",
    "DASHBOARD_PASSWORD",
    "FLOWER_USER",
    "FLOWER_PASSWORD",
}
SECRETS = {
    f.metadata["env"] for group in fields(Settings) for f in fields(group.default_factory) if f.metadata["secret"]
}


class Missing(Exception):
    pass


def interpolate(value, variables: dict[str, str]):
    """Compose's interpolation of every string in `value`: ${VAR}, ${VAR-default}, ${VAR:-default}, ${VAR?error}
    and ${VAR:?error} (the colon forms treat an empty value as unset)."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, operator, argument = match.groups()
        given = variables.get(name)
        unset = given is None or (operator in (":-", ":?") and given == "")
        if operator in ("?", ":?") and unset:
            raise Missing(name)
        return argument if operator in ("-", ":-") and unset else (given or "")

    return _REFERENCE.sub(one, value)


def service_environment(name: str, variables: dict[str, str]) -> dict[str, str]:
    return {k: str(v) for k, v in interpolate(COMPOSE["services"][name].get("environment", {}), variables).items()}


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_compose_environment_names_are_documented_settings():
    for service in PRODUCTION:
        for name in COMPOSE["services"][service].get("environment", {}):
            if service != "redis":
                assert re.search(rf"^#? ?{name}=", ENV_EXAMPLE, re.MULTILINE), f"{name} is not a documented setting"


def test_production_services_have_no_demo_value_and_require_every_credential_and_endpoint():
    """No default stands in for a missing line: every reference is ${VAR:?…} (or ${VAR?…} where empty means
    something), the one exception being the safe default ALLOW_PLAINTEXT_URLS=false; no demo key, token,
    password or emulator host anywhere in a production service."""
    demo_values = {v for k, v in DEMO_ENV.items() if len(v) > 5 and k != "COMPOSE_PROFILES"}
    demo_values |= {local_stack.DEMO_WS_KEY, local_stack.DEMO_REST_KEY, local_stack.DEMO_ALERT_TOKEN}
    demo_values |= {local_stack.DEMO_MANUAL_TOKEN, "emulator"}
    referenced = set()
    for service in PRODUCTION:
        for text in strings(COMPOSE["services"][service]):
            assert not [v for v in demo_values if v in text], f"{service}: {text}"
            for name, operator, argument in _REFERENCE.findall(text):
                referenced.add(name)
                if (name, operator, argument) == ("ALLOW_PLAINTEXT_URLS", ":-", "false"):
                    continue
                expected = "?" if name in MAY_BE_EMPTY else ":?"
                assert operator == expected and argument.startswith(f"set {name} in .env"), f"{service}: {text}"
    assert referenced >= REQUIRED | MAY_BE_EMPTY
    in_compose = {name for service in PRODUCTION for name in COMPOSE["services"][service].get("environment", {})}
    assert SECRETS - {"REDIS_URL", "CELERY_BROKER_URL"} <= in_compose | {"COINGLASS_API_KEY_WS"}
    assert "${REDIS_PASSWORD:?" in COMPOSE["x-teleglas-env"]["REDIS_URL"]


@pytest.mark.parametrize("variable", sorted(REQUIRED | MAY_BE_EMPTY))
def test_production_refuses_to_start_without_each_of_them(variable):
    """What `docker compose up` does with an .env that misses the line: it stops with the variable's name."""
    without = {k: v for k, v in DEMO_ENV.items() if k != variable}
    with pytest.raises(Missing, match=variable):
        interpolate({name: COMPOSE["services"][name] for name in PRODUCTION}, without)
    if variable in MAY_BE_EMPTY:
        interpolate(COMPOSE["services"]["listener"], {**DEMO_ENV, variable: ""})
    else:
        with pytest.raises(Missing, match=variable):
            interpolate({name: COMPOSE["services"][name] for name in PRODUCTION}, {**DEMO_ENV, variable: ""})


def test_the_demo_env_file_makes_a_valid_demo_against_the_emulators():
    assert DEMO_ENV["COMPOSE_PROFILES"] == "demo"
    settings = load_settings(service_environment("dashboard", DEMO_ENV), env_file=None)
    flower = load_settings(service_environment("flower", DEMO_ENV), env_file=None)
    assert (settings.ops.dashboard_user, flower.ops.flower_user) == ("demo", "demo-admin")
    assert settings.ops.dashboard_password != flower.ops.flower_password
    assert (
        settings.coinglass.api_key_ws == local_stack.DEMO_WS_KEY
        and settings.coinglass.api_key == local_stack.DEMO_REST_KEY
    )
    assert (
        settings.telegram.alert_token == local_stack.DEMO_ALERT_TOKEN
        and settings.manual.token == local_stack.DEMO_MANUAL_TOKEN
    )
    services = interpolate(COMPOSE["services"], DEMO_ENV)
    coinglass = " ".join(services["coinglass-emulator"]["command"])
    telegram = " ".join(services["telegram-emulator"]["command"])
    assert (
        f"--api-key {settings.coinglass.api_key_ws}" in coinglass
        and f"--rest-key {settings.coinglass.api_key}" in coinglass
    )
    assert f"--token {settings.telegram.alert_token}" in telegram and f"--token {settings.manual.token}" in telegram
    assert settings.coinglass.ws_url == "ws://coinglass-emulator:8765/ws-api" and "--port 8765" in coinglass
    assert settings.telegram.api_url == "http://telegram-emulator:8090" and "--port 8090" in telegram
    redis_command = services["redis"]["command"]
    password = redis_command[redis_command.index("--requirepass") + 1]
    assert settings.redis.url == f"redis://:{password}@redis:6379/0" and password in settings.secrets()
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == password  # redis-cli ping in the health check
    with pytest.raises(SettingsError, match="ALLOW_PLAINTEXT_URLS"):  # the emulators' plain URLs need the demo's yes
        load_settings({**service_environment("listener", DEMO_ENV), "ALLOW_PLAINTEXT_URLS": "false"}, env_file=None)


def test_compose_keeps_each_monitoring_pair_to_its_service_and_binds_on_its_network():
    for name in PRODUCTION:
        environment = COMPOSE["services"][name].get("environment", {})
        assert ("DASHBOARD_PASSWORD" in environment) == (name == "dashboard"), name
        assert ("FLOWER_PASSWORD" in environment) == (name == "flower"), name
    assert COMPOSE["services"]["dashboard"]["ports"] == ["127.0.0.1:8082:8082"]
    assert COMPOSE["services"]["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert not [n for n in PRODUCTION if n not in ("dashboard", "flower") and COMPOSE["services"][n].get("ports")]


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
    for name, text in units.items():
        assert (
            "EnvironmentFile=/etc/teleglas/teleglas.env" in text
            and "Restart=always" in text
            and "RestartPreventExitStatus=2" in text
        ), name
        assert "MONITOR_" not in text and "0.0.0.0" not in text, name  # hosts: 127.0.0.1 unless the operator says
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
