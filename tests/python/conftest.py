"""Fixtures: a real `tws-sim` process on a loopback port of its own choosing (`--port 0`; it
reports the address on stdout), and ib_async clients on it.

Tests marked `@pytest.mark.shared_sim` only read (no orders, no fault injection, nothing that
depends on the client id or on other clients): their `sim` is one simulator shared by the whole
session, and `connect(n)` gives them a client id no other test uses. Every other test gets a
fresh simulator.

Environment:
  TWS_SIM_BIN   path of the simulator binary (default: $CARGO_TARGET_DIR or <repo>/target,
                then debug/tws-sim)
  TWS_SIM_ARGS  extra command-line arguments for the simulator (shell-split)
  TWS_SIM_KEEP_LOGS  keep each simulator's log file (printed path) even when the test passes
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import queue
import re
import shlex
import subprocess
import tempfile
import threading
import time
import urllib.request
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


# `tws-sim listening on <addr>[ admin http://<addr>]`, its one line on stdout (sim/src/bin/tws-sim.rs)
LISTENING = re.compile(r"^tws-sim listening on (\S+):(\d+)(?: admin (http://\S+))?$")


class Sim:
    """A running simulator process."""

    def __init__(self, port: int, proc: subprocess.Popen, log_path: Path,
                 admin_url: str | None = None, host: str = "127.0.0.1"):
        self.host = host
        self.port = port
        self.proc = proc
        self.log_path = log_path
        self.admin_url = admin_url

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def admin(self, path: str):
        """GET `path` of the simulator's admin HTTP API (JSON)."""
        assert self.admin_url, "simulator started without an admin port"
        with urllib.request.urlopen(self.admin_url + path, timeout=10) as r:
            return json.load(r)

    def client_ids(self) -> set[int]:
        """Client ids the simulator currently has attached."""
        return {c["client_id"] for c in self.admin("/state")["clients"]}


def start_sim(extra_args: list[str] | None = None) -> Sim:
    """Start `tws-sim --port 0 --admin-port 0` and wait (30 s at most) for the line naming the
    addresses it bound: the ports are never picked here and re-bound there."""
    binary = sim_binary()
    if not binary.exists():
        pytest.fail(f"simulator binary {binary} not found: run `cargo build -p tws-sim` first")
    args = [str(binary), "--port", "0", "--admin-port", "0"]
    args += shlex.split(os.environ.get("TWS_SIM_ARGS", ""))
    args += extra_args or []
    log = tempfile.NamedTemporaryFile(prefix="tws-sim-", suffix=".log", delete=False)
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    # Logs (stderr) to the file; stdout carries the address line.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, name="tws-sim-stdout", daemon=True).start()
    log_path = Path(log.name)
    deadline = time.monotonic() + 30
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(left, 0))
        except queue.Empty:
            proc.kill()
            proc.wait(timeout=5)
            pytest.fail(f"tws-sim reported no address within 30 s:\n{Sim(0, proc, log_path).log()}")
        if line is None:
            proc.wait(timeout=5)
            pytest.fail(f"tws-sim exited before listening ({proc.returncode}):\n"
                        f"{Sim(0, proc, log_path).log()}")
        m = LISTENING.match(line)
        if m:
            return Sim(int(m.group(2)), proc, log_path, admin_url=m.group(3), host=m.group(1))


def stop_sim(sim: Sim) -> None:
    if sim.proc.poll() is None:
        sim.proc.terminate()
        try:
            sim.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.proc.kill()
            sim.proc.wait(timeout=5)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "shared_sim: the test only reads; it runs on the session's shared simulator "
        "(client ids handed out by `connect` are unique across the session)",
    )


def _release_log(s: Sim, failed: bool) -> None:
    if failed:
        print(f"---- tws-sim log ({s.log_path}) ----\n{s.log()}")
    elif os.environ.get("TWS_SIM_KEEP_LOGS"):
        print(f"tws-sim log kept: {s.log_path}")
    else:
        try:
            s.log_path.unlink()
        except OSError:
            pass


@pytest.fixture(scope="session")
def shared_sim():
    """One simulator for every `shared_sim` test of the session (started on first use).
    Without historical-data pacing: its pacer is simulator-wide, so identical requests from
    different tests within 15 s would be refused (pacing is not what these tests check)."""
    s = start_sim(["--no-pacing"])
    yield s
    stop_sim(s)
    _release_log(s, failed=False)


@pytest.fixture
def sim(request):
    if request.node.get_closest_marker("shared_sim"):
        s = request.getfixturevalue("shared_sim")
        yield s
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(f"---- shared tws-sim log, last part ({s.log_path}) ----\n{s.log()}")
        return
    s = start_sim()
    yield s
    stop_sim(s)
    rep = getattr(request.node, "rep_call", None)
    _release_log(s, failed=rep is not None and rep.failed)


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


# Client ids for tests on the shared simulator: never one a previous test used (the simulator
# answers 326 to an id still attached, and a disconnect is processed asynchronously).
_SHARED_CLIENT_IDS = itertools.count(100)


@pytest.fixture
async def connect(sim, request):
    """`await connect(client_id=1, max_version=None, **kwargs)` -> Client (kwargs go to
    IB.connectAsync; max_version caps the client's advertised API version); all clients are
    disconnected at teardown. On the shared simulator each requested id maps to a fresh one
    (the same requested id within one test gives the same fresh id)."""
    clients: list[Client] = []
    shared = request.node.get_closest_marker("shared_sim") is not None
    ids: dict[int, int] = {}

    async def _connect(client_id: int = 1, max_version: int | None = None, **kwargs) -> Client:
        if shared:
            client_id = ids.setdefault(client_id, next(_SHARED_CLIENT_IDS))
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
    await asyncio.sleep(0)  # one loop turn for ib_async's disconnect callbacks (not a wait)


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
