"""A real ``gapwatch serve`` subprocess on loopback that a test can kill and start again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

GAPWATCH = [sys.executable, "-m", "gapwatch"]
LOCK = "gapwatch-serve.lock"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, timeout: float = 300) -> dict[str, object]:
    """Run a gapwatch command with ``--json``; its last stdout line, decoded."""
    done = subprocess.run([*GAPWATCH, *args, "--json"], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return out


class ServerProcess:
    """``gapwatch serve`` on one workspace and one fixed port, restartable after a kill."""

    def __init__(self, root: Path, port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the server (returns once it holds the workspace: its lock file is written)."""
        assert self.proc is None or self.proc.poll() is not None
        cmd = [*GAPWATCH, "serve", "--workspace", str(self.root), "--port", str(self.port)]
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gapwatch serve exited with {self.proc.returncode}; see {self.log}")
            with contextlib.suppress(OSError, ValueError):
                if json.loads((self.root / LOCK).read_text())["pid"] == self.proc.pid:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"gapwatch serve did not start in 60 s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, the lock file stays behind (its pid is dead)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop as Ctrl-C does (the server finishes its queued writes)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
