"""scripts/test_curl.sh (MCP over plain curl: initialize, Mcp-Session-Id, notifications/initialized,
tools/list, tools/call, errors, DELETE, a stateless 2026-07-28 call, /health) against the real
host on the simulator."""

from __future__ import annotations

import os
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
    assert "all" in r.stdout and "checks passed" in r.stdout, r.stdout
    for step in ("initialize", "tools/list", "ibkr_get_positions", "DELETE session", "stateless"):
        assert step in r.stdout, step


def test_curl_script_fails_against_a_closed_port():
    r = subprocess.run(
        [str(REPO / "scripts" / "test_curl.sh")],
        env={**os.environ, "HOST_URL": "http://127.0.0.1:9/api/v1/mcp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "FAIL" in r.stderr
