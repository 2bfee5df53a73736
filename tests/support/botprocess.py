"""The bot as a real process: ``python bot.py`` in HTTP mode, started as production starts it.

Used by the crash/restart and multi-process tests and by the benchmark (``bench.run``). The
process listens on an ephemeral port (``PORT=0``); the port is read from its start-up log line.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.support.credentials import BOT_TOKEN, SIGNING_SECRET
from tests.support.paths import BOT_SCRIPT

_LISTENING = re.compile(r"HTTP mode at http://(?P<host>[^:/]+):(?P<port>\d+)(?P<path>/\S*)")


def bot_env(database_url: str, api_url: str, cwd: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the bot: HTTP mode against *api_url*, nothing from this shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": "0",
        "LOG_LEVEL": "INFO",
        # No pacing of the channel posts (note echoes, the minutes) against the fake Slack.
        "REVIEWBOT_SLACK_POST_INTERVAL": "0",
    }
    env.update(extra)
    return env


class BotProcess:
    """One bot process: start it, wait until it serves, kill or stop it, read its log."""

    def __init__(self, env: dict[str, str], cwd: Path, script: Path = BOT_SCRIPT) -> None:
        self.env, self.cwd, self.script = env, cwd, script
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.url = ""
        self.port = 0
        self.ready_seconds = 0.0
        self._listening = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> BotProcess:
        """Start the process and wait until ``/healthz`` answers; ``ready_seconds`` is the wait."""
        self.lines, self._listening = [], threading.Event()
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(self.script)],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = began + timeout
        while not self._listening.wait(0.01):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.kill()
                raise RuntimeError(f"{self.script.name} did not start:\n{self.log}")
        base = self.url.rsplit("/slack/", 1)[0]
        while not _healthy(base + "/healthz"):
            if time.perf_counter() > deadline:
                self.kill()
                raise RuntimeError(f"{self.script.name} never answered /healthz:\n{self.log}")
            time.sleep(0.005)
        self.ready_seconds = time.perf_counter() - began
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if not self._listening.is_set() and (match := _LISTENING.search(line)):
                self.port = int(match["port"])
                self.url = f"http://{match['host']}:{self.port}{match['path']}"
                self._listening.set()

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def log(self) -> str:
        """Everything the process wrote to standard error so far."""
        return "\n".join(self.lines)

    def rss_kib(self) -> int:
        """Resident memory of the process, in KiB (from /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash or an OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process as Ctrl-C would (SIGINT), killing it if it does not exit in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None:
            self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
