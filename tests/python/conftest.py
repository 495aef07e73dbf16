"""Fixtures: a real `tws-sim` process on a free loopback port, and ib_async clients on it.

Environment:
  TWS_SIM_BIN   path of the simulator binary (default: $CARGO_TARGET_DIR or <repo>/target,
                then debug/tws-sim)
  TWS_SIM_ARGS  extra command-line arguments for the simulator (shell-split)
  TWS_SIM_KEEP_LOGS  keep each simulator's log file (printed path) even when the test passes
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from ib_async import IB

REPO = Path(__file__).resolve().parents[2]

# Farm-status notices every TWS sends after connecting; never test failures.
FARM_NOTICES = {2104, 2106, 2107, 2108, 2158}


def sim_binary() -> Path:
    env = os.environ.get("TWS_SIM_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "tws-sim"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sim:
    """A running simulator process."""

    def __init__(self, port: int, proc: subprocess.Popen, log_path: Path):
        self.host = "127.0.0.1"
        self.port = port
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""


def start_sim(extra_args: list[str] | None = None) -> Sim:
    binary = sim_binary()
    if not binary.exists():
        pytest.fail(f"simulator binary {binary} not found: run `cargo build -p tws-sim` first")
    port = free_port()
    args = [str(binary), "--port", str(port)]
    args += shlex.split(os.environ.get("TWS_SIM_ARGS", ""))
    args += extra_args or []
    log = tempfile.NamedTemporaryFile(prefix="tws-sim-", suffix=".log", delete=False)
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    sim = Sim(port, proc, Path(log.name))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tws-sim exited early ({proc.returncode}):\n{sim.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return sim
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"tws-sim did not listen on {port} within 30 s:\n{sim.log()}")


def stop_sim(sim: Sim) -> None:
    if sim.proc.poll() is None:
        sim.proc.terminate()
        try:
            sim.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.proc.kill()
            sim.proc.wait(timeout=5)


@pytest.fixture
def sim(request):
    s = start_sim()
    yield s
    stop_sim(s)
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(f"---- tws-sim log ({s.log_path}) ----\n{s.log()}")
    elif os.environ.get("TWS_SIM_KEEP_LOGS"):
        print(f"tws-sim log kept: {s.log_path}")
    else:
        try:
            s.log_path.unlink()
        except OSError:
            pass


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


class Client:
    """An ib_async IB connected to the simulator, recording every error event."""

    def __init__(self, ib: IB):
        self.ib = ib
        self.errors: list[tuple[int, int, str]] = []
        ib.errorEvent += self._on_error

    def _on_error(self, reqId, errorCode, errorString, contract=None):
        self.errors.append((reqId, errorCode, errorString))

    def real_errors(self, allowed: set[int] = frozenset()) -> list[tuple[int, int, str]]:
        return [e for e in self.errors if e[1] not in FARM_NOTICES and e[1] not in allowed]

    def codes(self) -> list[int]:
        return [e[1] for e in self.errors]


@pytest.fixture
async def connect(sim):
    """`await connect(client_id=1, max_version=None, **kwargs)` -> Client (kwargs go to
    IB.connectAsync; max_version caps the client's advertised API version); all clients are
    disconnected at teardown."""
    clients: list[Client] = []

    async def _connect(client_id: int = 1, max_version: int | None = None, **kwargs) -> Client:
        ib = IB()
        if max_version is not None:
            ib.client.MaxClientVersion = max_version
        ib.RequestTimeout = 20
        c = Client(ib)
        kwargs.setdefault("timeout", 10)
        await ib.connectAsync(sim.host, sim.port, clientId=client_id, **kwargs)
        clients.append(c)
        return c

    yield _connect
    for c in clients:
        c.ib.disconnect()
    await asyncio.sleep(0)


async def wait_for(cond, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `cond()` until truthy (returns its value) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class _DecoderFailures(logging.Handler):
    """Collects exceptions ib_async swallowed while decoding or dispatching a message."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        if record.exc_info or "Error handling fields" in record.getMessage():
            self.records.append(self.format(record))


@pytest.fixture(autouse=True)
def no_decoder_exceptions():
    """ib_async logs (and hides) exceptions raised while parsing server messages: any such
    exception means a wire layout mismatch, so it fails the test."""
    h = _DecoderFailures()
    h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = logging.getLogger("ib_async")
    log.addHandler(h)
    yield
    log.removeHandler(h)
    assert not h.records, "ib_async failed to decode messages:\n" + "\n".join(h.records)
