"""Servers under test, each a uvicorn subprocess on 127.0.0.1, and CPU accounting from /proc."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx2

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the rest follows the last ')'.
    return text[text.rindex(")") + 2 :].split()


def process_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user + system) a process used; with `children`, also its reaped children's."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # After the command name: fields[11] utime, [12] stime, [13] cutime, [14] cstime.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


class PostgresCpu:
    """CPU used by a local PostgreSQL: the postmaster, its live backends, and those that exited."""

    def __init__(self, pgdata: Path | None) -> None:
        self.postmaster: int | None = None
        if pgdata is not None and (pgdata / "postmaster.pid").is_file():
            self.postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        total = process_cpu(self.postmaster, children=True)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == self.postmaster:
                total += process_cpu(int(entry.name))
        return total


# A checkout of another version of Pacta (its own app/ folder) to serve instead of this one, for a
# before-and-after comparison run by one bench: every server whose target is in `app.` starts there.
PACTA_DIR_ENV = "BENCH_PACTA_DIR"


class Server:
    """`python -m uvicorn <target>` on a free loopback port, output to a log file."""

    def __init__(
        self, name: str, target: list[str], env: dict[str, str], log_dir: Path, ready_path: str, cwd: str | None = None
    ) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.ready_path = ready_path
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            # The service logs one JSON line per request itself; uvicorn's own line would double it.
            "--no-access-log",
        ]
        log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            if cwd is None and target[0].startswith("app."):
                cwd = env.get(PACTA_DIR_ENV)
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd or None)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx2.get(self.base_url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
