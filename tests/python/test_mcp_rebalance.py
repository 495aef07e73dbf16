"""The seeds' portfolio-rebalancing end-to-end case, driven by the official Python MCP SDK as an
agent would drive it: connect -> historical data -> positions and account summary -> orders ->
executions -> positions again, against the real `ibkr-mcp --sim` binary.

The Rust twin of this test is tests/tests/host_e2e_rebalance.rs (rmcp client); see
docs/TRACEABILITY.md.
"""

from __future__ import annotations

import math

import pytest
from mcp import Client
from mcp_hostproc import HostProcess, wait_for

TARGET = {"VTI": 0.60, "TLT": 0.40}  # target weights of the VTI+TLT sleeve
MAX_ORDER_NOTIONAL = 200_000.0  # stay inside the host's default guardrail (250k)


@pytest.fixture(scope="module")
def host():
    h = HostProcess()
    ok = False
    try:
        yield h
        ok = True
    finally:
        h.stop(keep_log=not ok)


async def call(c: Client, tool: str, args: dict | None = None) -> dict:
    r = await c.call_tool(tool, args or {})
    text = " ".join(getattr(b, "text", "") for b in r.content)
    assert not r.is_error, f"{tool}: {text}"
    assert isinstance(r.structured_content, dict), r
    return r.structured_content


def holding(positions: dict, symbol: str) -> float:
    return sum(p["position"] for p in positions["positions"] if p["contract"]["symbol"] == symbol)


async def test_portfolio_rebalancing_workflow(host):
    async with Client(host.url, mode="legacy", read_timeout_seconds=60) as c:
        # Step 1: connect (the host connected at start; ibkr_connect reports it).
        status = await call(c, "ibkr_connect")
        assert status["status"] == "already_connected", status
        assert status["connection"]["is_connected"] is True

        # Step 2: historical data (input to the optimisation) and contract details.
        closes: dict[str, list[float]] = {}
        for sym in TARGET:
            hist = await call(
                c,
                "ibkr_get_historical_data",
                {"symbol": sym, "durationStr": "1 Y", "barSizeSetting": "1 day"},
            )
            closes[sym] = [b["close"] for b in hist["bars"]]
            assert len(closes[sym]) > 200, (sym, len(closes[sym]))
            details = await call(c, "ibkr_get_contract_details", {"symbol": sym})
            assert details["contracts"][0]["symbol"] == sym
        # A toy "optimisation" on the returns: both series are usable (non-degenerate).
        for sym, series in closes.items():
            rets = [b / a - 1 for a, b in zip(series, series[1:])]
            assert math.isfinite(sum(rets)) and any(r != 0 for r in rets), sym

        # Step 3: current positions and account summary.
        before = await call(c, "ibkr_get_positions")
        summary = await call(c, "ibkr_get_account_summary")
        net_liq = next(float(v["value"]) for v in summary["values"] if v["tag"] == "NetLiquidation")
        assert net_liq > 0

        # Step 4: drift -> trades (client-side logic), priced with quote snapshots.
        price = {}
        for sym in TARGET:
            q = await call(c, "ibkr_get_quote", {"symbol": sym})
            price[sym] = q["last"]
            assert price[sym] > 0, q
        held = {sym: holding(before, sym) for sym in TARGET}
        # The simulator's default account holds both.
        assert all(held[s] > 0 for s in TARGET), held
        sleeve = sum(held[s] * price[s] for s in TARGET)
        deltas = {}
        for sym, w in TARGET.items():
            want = math.floor(w * sleeve / price[sym])
            d = want - held[sym]
            cap = math.floor(MAX_ORDER_NOTIONAL / price[sym])
            deltas[sym] = math.copysign(min(abs(d), cap), d)
        assert any(deltas.values()), (held, deltas)

        # Step 5: place the orders, sells first.
        order_ids = {}
        for sym, d in sorted(deltas.items(), key=lambda kv: kv[1]):
            if d == 0:
                continue
            placed = await call(
                c,
                "ibkr_place_order",
                {
                    "symbol": sym,
                    "action": "BUY" if d > 0 else "SELL",
                    "totalQuantity": abs(d),
                    "orderType": "MKT",
                },
            )
            assert placed["orderId"] > 0
            # The first status TWS reports for a transmitted order is Submitted (the fill follows).
            assert placed["status"] == "Submitted", placed
            order_ids[placed["orderId"]] = abs(d)

        # Step 6: executions for every order, fully filled.
        async def all_filled():
            ex = await call(c, "ibkr_get_executions")
            filled = {
                oid: sum(e["shares"] for e in ex["executions"] if e["orderId"] == oid)
                for oid in order_ids
            }
            return filled if all(filled[o] >= q for o, q in order_ids.items()) else None

        filled = await wait_for(all_filled, "executions of every order")
        assert filled == order_ids, (filled, order_ids)
        open_orders = (await call(c, "ibkr_get_open_orders"))["orders"]
        assert all(o["orderId"] not in order_ids for o in open_orders), open_orders

        # Step 7: positions again reflect the trades.
        after = await call(c, "ibkr_get_positions")
        for sym in TARGET:
            assert holding(after, sym) == pytest.approx(held[sym] + deltas[sym]), sym
        pnl = await call(c, "ibkr_get_pnl")
        assert isinstance(pnl["dailyPnl"], (int, float)) and math.isfinite(pnl["dailyPnl"]), pnl
