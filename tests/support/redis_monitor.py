"""Every command a real redis-server receives (MONITOR), for the tests that search Redis for secrets."""

from __future__ import annotations

import base64
import re
import threading

import redis


class RedisMonitor:
    """Every command Redis receives while it runs (MONITOR), with Celery message bodies decoded, so a test
    can search all task arguments and every value written for a secret."""

    _BODY = re.compile(r'"body": "([A-Za-z0-9+/=]+)"')

    def __init__(self, client: redis.Redis):
        self.commands: list[str] = []
        self._client = client  # redis-py closes the pool when the client is collected
        self._monitor = client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                command = self._monitor.next_command()["command"]
            except redis.TimeoutError:
                continue  # a quiet moment longer than the client's read timeout: keep listening
            except (redis.ConnectionError, OSError, AttributeError):
                return  # the monitor connection was closed
            except ValueError:
                self.commands.append("<a MONITOR line redis-py could not parse>")
                continue
            bodies = [base64.b64decode(b).decode("utf-8", "replace") for b in self._BODY.findall(command)]
            self.commands.append("\n".join([command, *bodies]))

    def task_bodies(self) -> list[str]:
        return [line for line in self.commands if "\n" in line]

    def stop(self) -> None:
        self._monitor.__exit__()
        self._thread.join(5)
