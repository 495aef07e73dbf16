"""Start the real `ibkr-mcp` host binary as a child process for MCP interop tests.

The host is started with `--sim` (in-process paper gateway on an ephemeral loopback port, reached
over TCP like a real gateway) and `--port 0`; its listening URL is read from the line it prints
on stderr once bound: `ibkr-mcp <version> listening: MCP http://127.0.0.1:<port>/api/v1/mcp ...`.

Environment:
  IBKR_MCP_BIN   path of the host binary; when unset, `cargo build -p ibkr-mcp --bin ibkr-mcp`
                 runs once and $CARGO_TARGET_DIR (or <repo>/target)/debug/ibkr-mcp is used.
  IBKR_MCP_KEEP_LOGS  keep the host's log file even when the test passes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening: MCP (http://\S+)")

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
    """A running `ibkr-mcp --sim` process."""

    def __init__(self, extra_args: list[str] | None = None, startup_timeout: float = 60.0):
        self._log = tempfile.NamedTemporaryFile(prefix="ibkr-mcp-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self._workdir = tempfile.TemporaryDirectory(prefix="ibkr-mcp-cwd-")
        args = [
            str(host_binary()),
            "--sim",
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
