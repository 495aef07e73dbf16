"""Interoperability of the host with the official Python MCP SDK (`mcp` on PyPI).

The real `ibkr-mcp` binary runs with `--sim` on a free loopback port; the SDK's Streamable HTTP
client talks to it in both protocol eras the host serves: the 2025-11-25 session era
(`mode="legacy"`: initialize handshake, Mcp-Session-Id) and 2026-07-28 (`mode="auto"`: server/discover,
then stateless requests with per-request `_meta`). Tools are called exactly as a desktop/agent client would call them.
"""

from __future__ import annotations

import json
import tomllib

import anyio
import pytest
from mcp import Client
from mcp_hostproc import REPO, HostProcess, SimProcess, wait_for

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
# The simulator's default account and its holdings.
DEFAULT_ACCOUNT = "DU1234567"
DEFAULT_HOLDINGS = {"VTI", "TLT", "SPY", "AAPL", "BND"}
HOST_VERSION = tomllib.loads((REPO / "Cargo.toml").read_text())["workspace"]["package"]["version"]


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


@pytest.fixture(scope="module")
def sim_host():
    """The host on a separate simulator process whose admin API the test reads."""
    sim = SimProcess()
    host = None
    ok = False
    try:
        host = HostProcess(tws_port=sim.port)
        yield sim, host
        ok = True
    finally:
        if host is not None:
            host.stop(keep_log=not ok)
        sim.stop(keep_log=not ok)


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
            assert c.server_info.version == HOST_VERSION
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
        assert t.title, name
        assert t.input_schema.get("type") == "object", name
        assert t.output_schema and t.output_schema.get("type") == "object", name
        assert t.annotations is not None, name
        if name in TRADE_TOOLS:
            assert t.annotations.destructive_hint is True, name
            assert t.annotations.open_world_hint is True, name
            assert t.annotations.read_only_hint is False, name
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
    assert sc["count"] == len(sc["positions"])
    assert {p["contract"]["symbol"] for p in sc["positions"]} == DEFAULT_HOLDINGS, sc
    for p in sc["positions"]:
        assert p["account"] == DEFAULT_ACCOUNT, p
        assert isinstance(p["position"], (int, float)) and p["position"] > 0, p
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
    assert sc["count"] == len(sc["contracts"]) == 1, sc
    aapl = sc["contracts"][0]
    assert (aapl["symbol"], aapl["secType"], aapl["currency"]) == ("AAPL", "STK", "USD"), aapl
    assert aapl["conId"] > 0, aapl


async def test_quote_snapshot(host, era):
    async with client(host, era) as c:
        sc = ok_structured(await c.call_tool("ibkr_get_quote", {"symbol": "SPY"}))
    assert sc["symbol"] == "SPY", sc
    assert 0 < sc["bid"] < sc["ask"], sc
    assert sc["last"] > 0, sc


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
        assert order_id > 0, placed
        # The first status TWS reports for a transmitted order is Submitted (the fill follows).
        assert placed["status"] == "Submitted", placed

        async def filled():
            ex = ok_structured(await c.call_tool("ibkr_get_executions", {}))
            mine = [e for e in ex["executions"] if e["orderId"] == order_id]
            return mine if sum(e["shares"] for e in mine) >= 3 else None

        executions = await wait_for(filled, f"executions of order {order_id}")
        assert sum(e["shares"] for e in executions) == 3, executions
        assert all(e["side"] == "BOT" and e["price"] > 0 for e in executions), executions
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
    # The TWS code and its text, as TWS sent them.
    assert text_of(result) == "TWS error 200: No security definition has been found for the request"


async def test_bad_argument_names_the_argument(host, era):
    async with client(host, era) as c:
        result = await c.call_tool(
            "ibkr_place_order", {"symbol": "AAPL", "action": "HOLD", "totalQuantity": 1}
        )
    assert result.is_error, result
    assert text_of(result).startswith("invalid argument `action`: "), text_of(result)


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
    assert progress[-1][2] == "done", progress
    # The start message, then quotes of SPY.
    assert len(logs) >= 2, logs
    assert logs[0].data == {"message": "streaming market data for SPY"}, logs[0]
    assert all(entry.data["symbol"] == "SPY" for entry in logs[1:]), logs
    assert all(entry.logger == "ibkr_stream_market_data" for entry in logs), logs


async def test_streaming_tool_honours_cancellation(sim_host, era):
    """Abandoning a stream (the SDK sends `notifications/cancelled` at 2025-11-25, closes the
    request's response stream at 2026-07-28) stops it in the host: its market-data subscription
    in the gateway ends, and the session stays usable."""
    sim, host = sim_host

    async def spy_subs() -> int:
        return await sim.subscriptions("market_data", "SPY")

    async with client(host, era) as c:
        await wait_for(
            lambda: _connected(c), "the host to connect to the simulator"
        )
        assert await spy_subs() == 0
        outcome: list = []
        scope = anyio.CancelScope()

        async def stream() -> None:
            with scope:
                outcome.append(
                    await c.call_tool(
                        "ibkr_stream_market_data", {"symbol": "SPY", "duration_seconds": 3600}
                    )
                )

        async with anyio.create_task_group() as tg:
            tg.start_soon(stream)
            await wait_for(lambda: _eq(spy_subs, 1), "the stream's SPY subscription")
            scope.cancel()
        assert outcome == [], "the call was abandoned, not answered"
        # The host stopped the stream: the gateway subscription ends.
        await wait_for(lambda: _eq(spy_subs, 0), "the cancelled stream's subscription to end")
        # The session is still usable, including for another stream.
        status = ok_structured(await c.call_tool("ibkr_get_status", {}))
        assert status["is_connected"] is True
        sc = ok_structured(
            await c.call_tool("ibkr_stream_market_data", {"symbol": "QQQ", "duration_seconds": 1})
        )
        assert (sc["symbol"], sc["cancelled"]) == ("QQQ", False), sc
    # A stream that ran its course released its subscription too.
    await wait_for(
        lambda: _eq(lambda: sim.subscriptions("market_data", "QQQ"), 0),
        "the finished stream's subscription to end",
    )


async def _connected(c: Client) -> bool:
    return ok_structured(await c.call_tool("ibkr_get_status", {}))["is_connected"] is True


async def _eq(probe, want) -> bool:
    return await probe() == want
