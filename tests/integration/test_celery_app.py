"""`celery -A teleglas beat` finds the app and starts against a real Redis: it runs our start-up hook."""

import subprocess
import sys

from teleglas.devstack.local_stack import wait_until


def test_beat_finds_the_app(make_stack, tmp_path):
    stack = make_stack()
    stack.start_redis()
    log_path = tmp_path / "beat.log"
    with log_path.open("wb") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "teleglas",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(tmp_path / "schedule"),
            ],
            env=stack.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: (
                "[RUNNER] beat started: the listener announces the stream" in log_path.read_text()
                or beat.poll() is not None
            ),
            60,
            0.1,
            what="beat to start",
        )
        assert beat.poll() is None, log_path.read_text()
        assert f"broker -> redis://:**@127.0.0.1:{stack.redis_port}/0" in log_path.read_text()
    finally:
        beat.terminate()
        beat.wait(15)
