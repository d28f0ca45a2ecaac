"""Starts and stops a whole local TELEGLAS on free loopback ports: redis-server, both emulators, a worker
and the listener, each a real process as users run them. Used by `make demo` and the integration tests.

Every process gets its own session (process group), so stopping it also stops its children (Celery's
prefork pool); `LocalStack` stops everything it started even when the caller fails half-way.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
from celery import Celery

from teleglas.defines import (
    QUEUE_CHARTS,
    QUEUE_EVENTS,
    QUEUE_TELEGRAM,
    SOURCE_BINANCE,
    SOURCE_BYBIT,
    SOURCE_OKX,
    TASK_PROCESS_EVENTS,
    TASK_SEND_MESSAGE,
)
from teleglas.model.batch import read_item, unpack
from teleglas.ops import broker_transport
from teleglas.settings import PROJECT_ROOT, every_variable
from teleglas.state.keys import due_inflight_key, due_key

# Anything from the caller's environment that Settings reads (or its *_FILE form) is dropped, so a developer's
# shell cannot change what a demo or a test does; the stack sets what it needs.
_SETTINGS_VARIABLES = frozenset(every_variable()) | {"TELEGLAS_ENV_FILE"}
DEMO_ALERT_TOKEN = "100000001:demoAlertTokenForTheEmulatorOnly"
DEMO_MANUAL_TOKEN = "100000002:demoManualBotTokenForTheEmulatorOnly"
DEMO_WS_KEY = "demo-coinglass-ws-key-0123456789"
DEMO_REST_KEY = "demo-coinglass-rest-key-9876543210"
_EXCHANGE_EMULATORS = (SOURCE_BINANCE, SOURCE_BYBIT, SOURCE_OKX)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_redis_server() -> str:
    path = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if path is None:
        raise RuntimeError("redis-server not found: install it with `apt-get install redis-server` (make setup does)")
    return path


def wait_until(predicate, timeout_s: float, interval_s: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM to the process group, then SIGKILL to whatever is left; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._kill_group(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group(signal.SIGKILL)  # children such as prefork pool processes
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        return self.process.returncode

    def kill(self, timeout_s: float = 10.0) -> None:
        """SIGKILL to the whole process group (the main process and, for Celery, its pool), as kill -9 would."""
        self._kill_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout_s)

    def _kill_group(self, signum: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class LocalStack:
    """A self-contained TELEGLAS under `workdir`. Set attributes, then call the start_* methods you need."""

    workdir: Path
    chat_ids: tuple[str, ...] = ("-1001000000001",)
    channels: tuple[str, ...] = ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000")
    scenario: str = "demo.jsonl"
    settings_env: dict[str, str] = field(default_factory=dict)  # extra Settings overrides
    redis_password: str = ""  # set: redis-server requires it (requirepass) and every URL handed out carries it
    redis_port: int = 0
    telegram_port: int = 0
    coinglass_port: int = 0
    exchange_ports: dict[str, int] = field(default_factory=dict)  # binance, bybit, okx emulators
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    _celery: Celery | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis_port = self.redis_port or free_port()
        self.telegram_port = self.telegram_port or free_port()
        self.coinglass_port = self.coinglass_port or free_port()
        for exchange in _EXCHANGE_EMULATORS:
            self.exchange_ports.setdefault(exchange, free_port())

    # -- addresses and environment ----------------------------------------------------------------------

    @property
    def photos_dir(self) -> Path:
        """Where the Telegram emulator writes every photo it accepts, as CHAT-MESSAGE_ID.png."""
        return self.workdir / "photos"

    @property
    def redis_url(self) -> str:
        auth = f":{urllib.parse.quote(self.redis_password, safe='')}@" if self.redis_password else ""
        return f"redis://{auth}127.0.0.1:{self.redis_port}/0"

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.telegram_port}"

    @property
    def coinglass_url(self) -> str:
        return f"ws://127.0.0.1:{self.coinglass_port}/ws-api"

    def env(self, **overrides: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k.removesuffix("_FILE") not in _SETTINGS_VARIABLES}
        base.update(
            {
                "TELEGLAS_ENV_FILE": os.devnull,
                "REDIS_URL": self.redis_url,
                "COINGLASS_WS_URL": self.coinglass_url,
                "COINGLASS_API_KEY_WS": DEMO_WS_KEY,
                "COINGLASS_API_URL": f"http://127.0.0.1:{self.coinglass_port}",
                "COINGLASS_API_KEY": DEMO_REST_KEY,
                "TELEGRAM_API_URL": self.telegram_url,
                "TELEGRAM_ALERT_TOKEN": DEMO_ALERT_TOKEN,
                "TELEGRAM_ALERT_CHAT_IDS": ",".join(self.chat_ids),
                "TELEGRAM_TOKEN": DEMO_MANUAL_TOKEN,
                "WS_CHANNELS": ",".join(self.channels),
                "BINANCE_FUTURES_WS_URL": f"ws://127.0.0.1:{self.exchange_ports[SOURCE_BINANCE]}/market/ws",
                "BYBIT_WS_URL": f"ws://127.0.0.1:{self.exchange_ports[SOURCE_BYBIT]}/v5/public/linear",
                "OKX_WS_URL": f"ws://127.0.0.1:{self.exchange_ports[SOURCE_OKX]}/ws/v5/public",
                "OKX_REST_URL": f"http://127.0.0.1:{self.exchange_ports[SOURCE_OKX]}",
                "PYTHONUNBUFFERED": "1",
                # This checkout's code first, also for `python workers/ws_listener.py` (whose sys.path starts in
                # workers/) when the virtualenv's editable install points at another checkout.
                "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
            }
        )
        base.update(self.settings_env)
        base.update(overrides)
        return base

    def redis(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.redis_port, password=self.redis_password or None)

    # -- processes --------------------------------------------------------------------------------------

    def _start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> ManagedProcess:
        if name in self.processes and self.processes[name].running:
            raise RuntimeError(f"{name} is already running")
        proc = ManagedProcess(name, argv, dict(env or self.env()), self.workdir / f"{name}.log").start()
        self.processes[name] = proc
        return proc

    def start_redis(self, appendonly: bool = False, fsync: str = "always") -> ManagedProcess:
        """`appendonly=True` keeps queued tasks across a restart (`fsync` "always" is what compose runs)."""
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", fsync] if appendonly else ["--appendonly", "no"]
        auth = ["--requirepass", self.redis_password] if self.redis_password else []
        proc = self._start(
            "redis",
            [
                find_redis_server(),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(data),
                *auth,
            ],
        )
        client = self.redis()
        wait_until(lambda: _pings(client), 30, what="redis-server")
        return proc

    def start_telegram_emulator(self, flood_limits: bool = True) -> ManagedProcess:
        argv = [
            sys.executable,
            "-m",
            "teleglas.devstack.emulators.telegram",
            "--port",
            str(self.telegram_port),
            "--token",
            DEMO_ALERT_TOKEN,
            "--token",
            DEMO_MANUAL_TOKEN,
            "--photos-dir",
            str(self.photos_dir),
        ]
        proc = self._start("telegram-emulator", argv + ([] if flood_limits else ["--no-flood-limits"]))
        wait_until(lambda: _http_ok(f"{self.telegram_url}/_emulator/messages"), 30, what="Telegram emulator")
        return proc

    def start_coinglass_emulator(
        self,
        min_subscribers: int = 1,
        rest_data: Path | None = None,
        live_times: bool = False,
        repeat_every_s: float | None = None,
        plan_limit: int | None = None,
    ) -> ManagedProcess:
        """`live_times`: each event happens when its frame is sent (teleglas.devstack.emulators.scenario.live_frame);
        `repeat_every_s`: the scenario plays again that long after each replay; `plan_limit`: the requests per
        minute the key's plan allows (the emulator's default otherwise)."""
        argv = [
            sys.executable,
            "-m",
            "teleglas.devstack.emulators.coinglass",
            "--port",
            str(self.coinglass_port),
            "--api-key",
            DEMO_WS_KEY,
            "--scenario",
            self.scenario,
            "--min-subscribers",
            str(min_subscribers),
            "--rest-key",
            DEMO_REST_KEY,
        ]
        if rest_data is not None:
            argv += ["--rest-data", str(rest_data)]
        if live_times:
            argv.append("--live-times")
        if repeat_every_s is not None:
            argv += ["--repeat-every", str(repeat_every_s)]
        if plan_limit is not None:
            argv += ["--plan-limit", str(plan_limit)]
        proc = self._start("coinglass-emulator", argv)
        wait_until(
            lambda: _http_ok(f"http://127.0.0.1:{self.coinglass_port}/_emulator/status"), 30, what="CoinGlass emulator"
        )
        return proc

    def start_exchange_emulator(
        self, exchange: str, scenario: str | None = None, min_subscribers: int = 1, options: tuple[str, ...] = ()
    ) -> ManagedProcess:
        """The `binance`, `bybit` or `okx` emulator (teleglas.devstack.emulators.<exchange>) on its port, replaying
        `scenario` (default: the bundled `<exchange>.jsonl`); `options` are further command-line flags."""
        port = self.exchange_ports[exchange]
        argv = [
            sys.executable,
            "-m",
            f"teleglas.devstack.emulators.{exchange}",
            "--port",
            str(port),
            "--scenario",
            scenario or f"{exchange}.jsonl",
            "--min-subscribers",
            str(min_subscribers),
            *options,
        ]
        proc = self._start(f"{exchange}-emulator", argv)
        wait_until(lambda: _http_ok(f"http://127.0.0.1:{port}/_emulator/status"), 30, what=f"{exchange} emulator")
        return proc

    def start_binance_emulator(self, scenario: str | None = None, **kwargs) -> ManagedProcess:
        return self.start_exchange_emulator(SOURCE_BINANCE, scenario, **kwargs)

    def start_bybit_emulator(self, scenario: str | None = None, **kwargs) -> ManagedProcess:
        return self.start_exchange_emulator(SOURCE_BYBIT, scenario, **kwargs)

    def start_okx_emulator(self, scenario: str | None = None, **kwargs) -> ManagedProcess:
        return self.start_exchange_emulator(SOURCE_OKX, scenario, **kwargs)

    def exchange_status(self, exchange: str) -> dict:
        url = f"http://127.0.0.1:{self.exchange_ports[exchange]}/_emulator/status"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 2,
        loglevel: str = "INFO",
        extra_env: Mapping[str, str] | None = None,
    ) -> ManagedProcess:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "teleglas",
            "worker",
            "--loglevel",
            loglevel,
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        proc = self._start(name, argv, self.env(**(extra_env or {})))
        wait_until(lambda: "ready." in proc.log_text() or not proc.running, 60, 0.1, what=f"{name} to be ready")
        if not proc.running:
            raise RuntimeError(f"{name} exited: {proc.log_text()[-2000:]}")
        return proc

    def start_beat(self, name: str = "beat", extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        schedule = self.workdir / f"{name}-schedule"
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "teleglas",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(schedule),
        ]
        return self._start(name, argv, self.env(**(extra_env or {})))

    def start_listener(self, name: str = "listener", extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Each listener gets its own free health port unless `extra_env` names one (HEALTH_PORT)."""
        env = self.env(**{"HEALTH_PORT": str(free_port()), **(extra_env or {})})
        return self._start(name, [sys.executable, str(PROJECT_ROOT / "workers" / "ws_listener.py")], env)

    def start_flower(self, port: int, extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        """`celery -A teleglas flower` on 127.0.0.1:`port` (it reads ./flowerconfig.py: auth from Settings)."""
        return self.start_command(
            "flower", ["-m", "celery", "-A", "teleglas", "flower", f"--port={port}", "--address=127.0.0.1"], extra_env
        )

    def start_dashboard(self, port: int, extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        """`python -m teleglas.dashboard` on `port` (DASHBOARD_USER / DASHBOARD_PASSWORD from `extra_env` or the
        stack's settings); returns once it serves."""
        proc = self.start_command(
            "dashboard", ["-m", "teleglas.dashboard"], {"DASHBOARD_PORT": str(port), **(extra_env or {})}
        )
        wait_until(
            lambda: _http_ok(f"http://127.0.0.1:{port}/healthz") or not proc.running, 30, 0.1, what="the dashboard"
        )
        if not proc.running:
            raise RuntimeError(f"dashboard exited: {proc.log_text()[-2000:]}")
        return proc

    def start_command(
        self, name: str, python_args: list[str], extra_env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        """Any `python ARGS` with the stack's environment, e.g. a benchmark's own Celery worker."""
        return self._start(name, [sys.executable, *python_args], self.env(**(extra_env or {})))

    def start_manual_bot(self, name: str = "manual-bot", extra_env: Mapping[str, str] | None = None) -> ManagedProcess:
        """`python bots/manual.py` on its own free health port; returns once it polls Telegram."""
        env = self.env(**{"MANUAL_HEALTH_PORT": str(free_port()), "MANUAL_POLL_TIMEOUT": "2", **(extra_env or {})})
        proc = self._start(name, [sys.executable, str(PROJECT_ROOT / "bots" / "manual.py")], env)
        wait_until(lambda: "answering" in proc.log_text() or not proc.running, 30, 0.1, what=f"{name} to start")
        return proc

    def stop(self) -> None:
        """Stops the producers first, then the workers, then the emulators, then Redis."""
        order = sorted(
            self.processes.values(),
            key=lambda p: (
                not ("listener" in p.name or "bot" in p.name),
                "worker" not in p.name,
                "emulator" not in p.name,
                p.name == "redis",
            ),
        )
        for proc in order:
            proc.stop()
        if self._celery is not None:
            self._celery.close()
            self._celery = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- observations -----------------------------------------------------------------------------------

    def queued_events(self) -> list[dict]:
        """The event payloads of the process_events tasks waiting in the `events` queue, oldest first (kombu
        LPUSHes, workers BRPOP), read as the workers read them; other tasks on that queue (a start-up notice) are
        left out."""
        events = []
        for raw in reversed(self.redis().lrange(QUEUE_EVENTS, 0, -1)):
            message = json.loads(raw)
            if message.get("headers", {}).get("task") == TASK_PROCESS_EVENTS:
                items = unpack(json.loads(base64.b64decode(message["body"]))[0][0])
                events += [read_item(item)[0].to_payload() for item in items]
        return events

    def telegram_messages(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.telegram_url}/_emulator/messages", timeout=5) as response:
            return json.load(response)

    def telegram_photo(self, chat_id: int | str, message_id: int) -> bytes:
        """The PNG of an accepted sendPhoto, as uploaded."""
        with urllib.request.urlopen(f"{self.telegram_url}/_emulator/photos/{chat_id}/{message_id}", timeout=5) as r:
            return r.read()

    def telegram_calls(self) -> list[dict]:
        """Every Bot API call the emulator answered: method, chat_id, status (0 = connection dropped), time."""
        with urllib.request.urlopen(f"{self.telegram_url}/_emulator/calls", timeout=5) as response:
            return json.load(response)

    def add_telegram_fault(self, **fault) -> None:
        """Queues a scripted Bot API error, e.g. status=429, description=..., retry_after=1 (count, chat_id, reset)."""
        self._post(f"{self.telegram_url}/_emulator/faults", fault)

    def set_telegram_chats(
        self,
        blocked: list | None = None,
        migrated: dict | None = None,
        admins: dict | None = None,
        unblocked: list | None = None,
    ) -> None:
        """From now on the emulator answers 403 for `blocked` chats and the supergroup migration for `migrated`;
        `admins` ({chat: [user ids]}) are what getChatMember reports as a group's administrators; `unblocked`
        chats take the bot again."""
        self._post(
            f"{self.telegram_url}/_emulator/chats",
            {
                "blocked": blocked or [],
                "migrated": migrated or {},
                "admins": admins or {},
                "unblocked": unblocked or [],
            },
        )

    def send_user_message(self, text: str, chat_id: int | str, user_id: int | None = None) -> dict:
        """A user's message to the manual bot, delivered by its next getUpdates; returns the Update."""
        request = urllib.request.Request(
            f"{self.telegram_url}/_emulator/updates",
            method="POST",
            data=json.dumps(
                {"bot_id": int(DEMO_MANUAL_TOKEN.split(":")[0]), "text": text, "chat_id": chat_id, "user_id": user_id}
            ).encode(),
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def enqueue_events(self, payloads: list[dict], batch: int = 100) -> None:
        """Puts process_events tasks of `batch` events each on the `events` queue, items in the shape before the
        listener's batch codec ([payload, received_ms]), which the workers still read."""
        app = self.celery_app()
        with app.producer_or_acquire() as producer:
            for start in range(0, len(payloads), batch):
                items = [[payload, None] for payload in payloads[start : start + batch]]
                app.send_task(TASK_PROCESS_EVENTS, args=(items,), queue=QUEUE_EVENTS, producer=producer)

    def enqueue_send(self, chat_id, text: str, alert_id: str) -> None:
        """Puts one send_message task on the `telegram` queue, as process_events does."""
        self.celery_app().send_task(TASK_SEND_MESSAGE, args=(chat_id, text, alert_id, None), queue=QUEUE_TELEGRAM)

    def celery_app(self) -> Celery:
        """Publishes as the product does (its kombu transport rings the queue's doorbell)."""
        if self._celery is None:
            broker_transport.register()
            self._celery = Celery("local-stack", broker=self.redis_url, set_as_current=False)
            self._celery.conf.task_serializer = "json"
        return self._celery

    @staticmethod
    def _post(url: str, payload: dict) -> None:
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def add_rest_fault(self, path: str, kind: str, count: int = 1) -> None:
        """The CoinGlass emulator answers the next `count` requests to `path` with a fault: bad_key,
        rate_limit, server_error or plan."""
        query = urllib.parse.urlencode({"path": path, "kind": kind, "count": count})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.coinglass_port}/_emulator/rest-fault?{query}", timeout=5):
            pass

    def coinglass_status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.coinglass_port}/_emulator/status", timeout=5) as response:
            return json.load(response)

    def wait_for_replay(self, timeout_s: float = 60, exchanges: tuple[str, ...] = (), coinglass: bool = True) -> None:
        """Until the CoinGlass emulator (unless `coinglass` is False) and each of `exchanges` replayed its scenario."""
        if coinglass:
            wait_until(lambda: self.coinglass_status()["replay_done"], timeout_s, 0.1, what="the scenario replay")
        for exchange in exchanges:
            wait_until(
                lambda e=exchange: self.exchange_status(e)["replay_done"], timeout_s, 0.1, what=f"the {exchange} replay"
            )

    def pending_tasks(self) -> int:
        """Tasks queued, running (kombu keeps those in its `unacked` hash) or waiting in Redis for their time
        (teleglas.state.due: digest flushes, summaries, rate-limit slots, retries), and charts to render. The
        periodic re-check of a disabled chat and a chat's next daily recap are not alert work and do not count."""
        client = self.redis()
        with client.pipeline(transaction=False) as pipe:
            pipe.llen(QUEUE_EVENTS).llen(QUEUE_TELEGRAM).llen(QUEUE_CHARTS).hlen("unacked")
            pipe.zrange(due_key(), 0, -1).zcard(due_inflight_key())
            queued, sending, rendering, running, due, moving = pipe.execute()
        return (
            queued
            + sending
            + rendering
            + running
            + moving
            + sum(1 for key in due if not key.startswith((b"recheck:", b"recap:")))
        )

    def wait_for_idle(self, settle_s: float = 0.5, timeout_s: float = 120) -> list[dict]:
        """Waits until no task is queued, running or waiting for its rate-limit slot (for `settle_s`), then
        returns the messages Telegram received."""
        deadline = time.monotonic() + timeout_s
        idle_since = None
        while time.monotonic() < deadline:
            if self.pending_tasks() == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= settle_s:
                    return self.telegram_messages()
            else:
                idle_since = None
            time.sleep(0.05)
        raise TimeoutError(f"tasks still pending after {timeout_s:.0f} s")


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
