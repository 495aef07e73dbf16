"""Interoperability of the host with the official Python MCP SDK (`mcp` on PyPI).

The real `ibkr-mcp` binary runs with `--sim` on a free loopback port; the SDK's Streamable HTTP
client talks to it in both protocol eras the host serves: the 2025-11-25 session era
(`mode="legacy"`: initialize handshake, Mcp-Session-Id) and 2026-07-28 (`mode="auto"`: server/discover,
then stateless requests with per-request `_meta`). Tools are called exactly as a desktop/agent client would call them.
"""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client
from mcp_hostproc import HostProcess

# "legacy" forces the 2025-11-25 initialize handshake; "auto" probes server/discover and adopts
# 2026-07-28 (stateless) when the server offers it, as the host does.
ERAS = ["legacy", "auto"]

PREDECESSOR_TOOLS = {
    "ibkr_connect",
    "ibkr_disconnect",
    "ibkr_get_status",
    "ibkr_get_contract_details",
    "ibkr_get_historical_data",
    "ibkr_stream_market_data",
    "ibkr_get_account_summary",
    "ibkr_get_positions",
    "ibkr_stream_account_updates",
    "ibkr_get_pnl",
    "ibkr_get_pnl_single",
    "ibkr_place_order",
    "ibkr_cancel_order",
    "ibkr_get_open_orders",
    "ibkr_get_executions",
    "ibkr_get_next_valid_id",
}
TRADE_TOOLS = {"ibkr_place_order", "ibkr_cancel_order"}


@pytest.fixture(scope="module")
def host():
    h = HostProcess()
    ok = False
    try:
        yield h
        ok = True
    finally:
        h.stop(keep_log=not ok)


@pytest.fixture(params=ERAS)
def era(request) -> str:
    return request.param


def client(host: HostProcess, era: str, **kw) -> Client:
    return Client(host.url, mode=era, read_timeout_seconds=60, **kw)


def text_of(result) -> str:
    return " ".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def ok_structured(result) -> dict:
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


async def test_server_identity_and_eras(host, era):
    async with client(host, era) as c:
        if era == "legacy":
            assert c.protocol_version == "2025-11-25"
            assert c.server_info is not None and c.server_info.name == "ibkr-mcp"
            assert c.server_info.version
        else:
            assert c.protocol_version == "2026-07-28"
        assert c.server_capabilities.tools is not None


async def test_list_tools_schemas_and_annotations(host, era):
    async with client(host, era) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert PREDECESSOR_TOOLS <= set(tools), PREDECESSOR_TOOLS - set(tools)
    for name in PREDECESSOR_TOOLS:
        t = tools[name]
        assert t.description, name
        assert t.title or (t.annotations and t.annotations.title), name
        assert t.input_schema.get("type") == "object", name
        assert t.output_schema and t.output_schema.get("type") == "object", name
        assert t.annotations is not None, name
        if name in TRADE_TOOLS:
            assert t.annotations.destructive_hint is True, name
            assert t.annotations.open_world_hint is True, name
            assert t.annotations.read_only_hint is not True, name
    for name in ("ibkr_get_positions", "ibkr_get_account_summary", "ibkr_get_historical_data"):
        assert tools[name].annotations.read_only_hint is True, name
    # Argument descriptions are part of the schema.
    hist = tools["ibkr_get_historical_data"].input_schema
    assert "symbol" in hist.get("required", [])
    assert hist["properties"]["durationStr"].get("description")


async def test_positions_structured_content(host, era):
    async with client(host, era) as c:
        result = await c.call_tool("ibkr_get_positions", {})
    sc = ok_structured(result)
    assert sc["count"] == len(sc["positions"]) > 0
    for p in sc["positions"]:
        assert p["account"] and p["contract"]["symbol"]
        assert isinstance(p["position"], (int, float))
    # The text block carries the same data for clients without structured content.
    assert json.loads(text_of(result)) == sc


async def test_account_summary(host, era):
    async with client(host, era) as c:
        sc = ok_structured(await c.call_tool("ibkr_get_account_summary", {}))
    tags = {v["tag"] for v in sc["values"]}
    assert {"NetLiquidation", "TotalCashValue"} <= tags, tags


async def test_historical_data(host, era):
    async with client(host, era) as c:
        sc = ok_structured(
            await c.call_tool(
                "ibkr_get_historical_data",
                {"symbol": "VTI", "durationStr": "30 D", "barSizeSetting": "1 day"},
            )
        )
    assert sc["symbol"] == "VTI"
    assert sc["count"] == len(sc["bars"]) >= 15
    bar = sc["bars"][-1]
    assert {"open", "high", "low", "close"} <= set(bar), bar
    assert bar["low"] <= bar["close"] <= bar["high"]


async def test_contract_details(host, era):
    async with client(host, era) as c:
        sc = ok_structured(await c.call_tool("ibkr_get_contract_details", {"symbol": "AAPL"}))
    assert "AAPL" in json.dumps(sc)


async def test_quote_snapshot(host, era):
    async with client(host, era) as c:
        sc = ok_structured(await c.call_tool("ibkr_get_quote", {"symbol": "SPY"}))
    assert "SPY" in json.dumps(sc).upper()


async def test_place_order_then_executions_and_positions(host):
    async with client(host, "legacy") as c:
        before = ok_structured(await c.call_tool("ibkr_get_positions", {}))
        placed = ok_structured(
            await c.call_tool(
                "ibkr_place_order",
                {"symbol": "AAPL", "action": "BUY", "totalQuantity": 3, "orderType": "MKT"},
            )
        )
        order_id = placed["orderId"]
        assert order_id > 0 and placed["status"]
        executions = []
        with anyio.fail_after(30):
            while True:
                ex = ok_structured(await c.call_tool("ibkr_get_executions", {}))
                executions = [e for e in ex["executions"] if e["orderId"] == order_id]
                if sum(e["shares"] for e in executions) >= 3:
                    break
                await anyio.sleep(0.2)
        assert all(e["side"] == "BOT" and e["price"] > 0 for e in executions)
        after = ok_structured(await c.call_tool("ibkr_get_positions", {}))

    def aapl(sc):
        return sum(p["position"] for p in sc["positions"] if p["contract"]["symbol"] == "AAPL")

    assert aapl(after) == pytest.approx(aapl(before) + 3)


async def test_tws_error_is_a_tool_error_with_code(host, era):
    async with client(host, era) as c:
        result = await c.call_tool(
            "ibkr_get_historical_data", {"symbol": "NOSUCHSYMBOLXYZ", "durationStr": "5 D"}
        )
    assert result.is_error, result
    msg = text_of(result)
    # "TWS error <code>: <text>" (e.g. 200 No security definition has been found).
    assert "TWS error" in msg or "not found" in msg.lower(), msg


async def test_bad_argument_names_the_argument(host, era):
    async with client(host, era) as c:
        result = await c.call_tool(
            "ibkr_place_order", {"symbol": "AAPL", "action": "HOLD", "totalQuantity": 1}
        )
    assert result.is_error, result
    assert "action" in text_of(result), text_of(result)


async def test_streaming_tool_sends_progress_and_log_notifications(host, era):
    progress: list[tuple[float, float | None, str | None]] = []
    logs: list = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    async def on_log(params) -> None:
        logs.append(params)

    async with client(host, era, logging_callback=on_log, log_level="info") as c:
        result = await c.call_tool(
            "ibkr_stream_market_data",
            {"symbol": "SPY", "duration_seconds": 3},
            progress_callback=on_progress,
        )
    sc = ok_structured(result)
    assert sc["symbol"] == "SPY" and sc["cancelled"] is False
    assert sc["updates_count"] > 0, sc
    assert len(progress) >= 2, progress
    assert all(total == pytest.approx(3.0) for _, total, _ in progress)
    assert [p for p, _, _ in progress] == sorted(p for p, _, _ in progress)
    assert logs, "no notifications/message during the stream"


async def test_streaming_tool_honours_cancellation(host):
    async with client(host, "legacy") as c:
        with anyio.move_on_after(1.5) as scope:
            await c.call_tool("ibkr_stream_market_data", {"symbol": "SPY", "duration_seconds": 120})
        assert scope.cancelled_caught
        # The host is still responsive on the same session after the cancelled stream.
        with anyio.fail_after(10):
            status = ok_structured(await c.call_tool("ibkr_get_status", {}))
    assert status["is_connected"] is True
