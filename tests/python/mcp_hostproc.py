"""Start the real `ibkr-mcp` host binary as a child process for MCP interop tests.

The host is started with `--sim` (in-process paper gateway on an ephemeral loopback port, reached
over TCP like a real gateway) and `--port 0`; its listening URL is read from the line it prints
on stderr once bound: `ibkr-mcp <version> listening: MCP http://127.0.0.1:<port>/api/v1/mcp ...`.

With `tws_port=` the host connects to a separate simulator process instead ([`SimProcess`]:
`tws-sim --port 0 --admin-port 0`), whose admin HTTP API shows what reached the gateway
(subscriptions, orders): what the host did, observed from outside it.

Environment:
  IBKR_MCP_BIN   path of the host binary; when unset, `cargo build -p ibkr-mcp --bin ibkr-mcp`
                 runs once and $CARGO_TARGET_DIR (or <repo>/target)/debug/ibkr-mcp is used.
  TWS_SIM_BIN    path of the simulator binary for [`SimProcess`] (default
                 $CARGO_TARGET_DIR (or <repo>/target)/debug/tws-sim).
  IBKR_MCP_KEEP_LOGS  keep the host's log file even when the test passes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening: MCP (http://\S+)")
SIM_LISTENING = re.compile(r"tws-sim listening on (\S+):(\d+) admin (http://\S+)")

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T]], what: str, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Await `probe()` until it returns something truthy (returned); fail after `timeout` s.

    For state with no change notification (the simulator's admin view, executions): a deadline on
    an observable condition, never a sleep standing in for one."""
    deadline = time.monotonic() + timeout
    while True:
        v = await probe()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {v!r})")
        await anyio.sleep(interval)


def sim_binary() -> Path:
    env = os.environ.get("TWS_SIM_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "tws-sim"


class SimProcess:
    """A running `tws-sim --port 0 --admin-port 0` (ports bound by the simulator and reported on
    its stdout, never picked by the test)."""

    def __init__(self, startup_timeout: float = 30.0):
        binary = sim_binary()
        if not binary.exists():
            raise RuntimeError(f"simulator binary {binary} not found: cargo build -p tws-sim")
        self._log = tempfile.NamedTemporaryFile(prefix="tws-sim-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self.proc = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", "0", "--admin-port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
        )
        deadline = time.monotonic() + startup_timeout
        while True:
            m = SIM_LISTENING.search(self.log())
            if m:
                self.port = int(m.group(2))
                self.admin_url = m.group(3)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"tws-sim exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"tws-sim did not report its ports:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def admin(self, path: str) -> Any:
        """GET an admin endpoint (blocking; see `admin_async`)."""
        with urllib.request.urlopen(self.admin_url + path, timeout=10) as r:
            return json.load(r)

    async def admin_async(self, path: str) -> Any:
        return await anyio.to_thread.run_sync(self.admin, path)

    async def subscriptions(self, kind: str, detail: str) -> int:
        """Active subscriptions of `kind` whose detail (for market data: the symbol) is `detail`."""
        subs = (await self.admin_async("/subscriptions"))["subscriptions"]
        return sum(1 for s in subs if s["kind"] == kind and s["detail"] == detail)

    def stop(self, keep_log: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        if keep_log or os.environ.get("IBKR_MCP_KEEP_LOGS"):
            print(f"tws-sim log kept at {self.log_path}")
        else:
            self.log_path.unlink(missing_ok=True)

_built: Path | None = None


def host_binary() -> Path:
    """The host binary (built once per test session unless IBKR_MCP_BIN is set)."""
    global _built
    env = os.environ.get("IBKR_MCP_BIN")
    if env:
        return Path(env)
    if _built is None:
        subprocess.run(
            ["cargo", "build", "-q", "-p", "ibkr-mcp", "--bin", "ibkr-mcp"],
            cwd=REPO,
            check=True,
        )
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        _built = target / "debug" / "ibkr-mcp"
    return _built


class HostProcess:
    """A running `ibkr-mcp --sim` process (or `ibkr-mcp --tws-port P` on a [`SimProcess`])."""

    def __init__(
        self,
        extra_args: list[str] | None = None,
        startup_timeout: float = 60.0,
        tws_port: int | None = None,
    ):
        self._log = tempfile.NamedTemporaryFile(prefix="ibkr-mcp-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self._workdir = tempfile.TemporaryDirectory(prefix="ibkr-mcp-cwd-")
        # In-process simulator, or the one listening on `tws_port`.
        tws = ["--sim"] if tws_port is None else ["--tws-host", "127.0.0.1", "--tws-port", str(tws_port)]
        args = [
            str(host_binary()),
            *tws,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            # No developer .env, no audit file in the working tree.
            "--env-file",
            os.devnull,
            "--audit-log",
            "",
            "--log-level",
            "info",
            *(extra_args or []),
        ]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TWS_", "SERVER_", "IBKR_MCP_CONFIG"))
            and k not in ("API_PREFIX", "LOG_LEVEL", "MCP_BEARER_TOKENS")
        }
        self.proc = subprocess.Popen(
            args,
            cwd=self._workdir.name,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = self._wait_for_url(startup_timeout)
        self.base_url = re.sub(r"^(https?://[^/]+).*$", r"\1", self.url)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTENING.search(self.log())
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"ibkr-mcp exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ibkr-mcp did not report its URL within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def stop(self, keep_log: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # graceful shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        self._workdir.cleanup()
        if keep_log or os.environ.get("IBKR_MCP_KEEP_LOGS"):
            print(f"ibkr-mcp log kept at {self.log_path}")
        else:
            self.log_path.unlink(missing_ok=True)
