"""scripts/test_curl.sh (MCP over plain curl: initialize, Mcp-Session-Id, notifications/initialized,
tools/list, tools/call, errors, DELETE, a stateless 2026-07-28 call, /health) against the real
host on the simulator."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from mcp_hostproc import REPO, HostProcess


@pytest.fixture(scope="module")
def host():
    h = HostProcess()
    ok = False
    try:
        yield h
        ok = True
    finally:
        h.stop(keep_log=not ok)


def test_curl_script_drives_the_host(host):
    r = subprocess.run(
        [str(REPO / "scripts" / "test_curl.sh")],
        env={**os.environ, "HOST_URL": host.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}\nhost log:\n{host.log()}"
    lines = r.stdout.splitlines()
    checks = [line for line in lines if line.startswith("ok   ")]
    assert lines[-1] == f"all {len(checks)} checks passed", r.stdout
    steps = [
        "initialize -> server ibkr-mcp, session ",
        "notifications/initialized -> 202",
        "tools/list -> ",
        "tools/call ibkr_get_status -> connected",
        "tools/call ibkr_get_positions -> 5 positions",
        "tools/call ibkr_get_account_summary",
        "tools/call ibkr_get_contract_details AAPL",
        "tools/call with an unknown symbol -> isError: "
        "TWS error 200: No security definition has been found for the request",
        "unknown Mcp-Session-Id -> 404",
        "DELETE session -> ",
        "stateless ",
        "GET /health -> 200",
    ]
    assert len(checks) == len(steps), checks
    for line, step in zip(checks, steps):
        assert line.removeprefix("ok   ").startswith(step), (line, step)


def test_curl_script_fails_against_a_closed_port():
    # A port bound but not listening refuses connections, and stays ours for the whole test.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/api/v1/mcp"
        r = subprocess.run(
            [str(REPO / "scripts" / "test_curl.sh")],
            env={**os.environ, "HOST_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"FAIL: curl could not reach {url}" in r.stderr.splitlines(), r.stderr
