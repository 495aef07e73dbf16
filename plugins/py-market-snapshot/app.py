"""py_market_snapshot: a read-only ibkr-mcp plugin written in Python.

It proves the `ibkr:plugin` WIT package is language-neutral: componentize-py generates the
bindings from `wit/world.wit` (a world importing only `host` and `market-data` from the
repository's `ibkr:plugin` package) and packs this module plus a Python interpreter into a
component. WASI imports are stubbed, so the component imports nothing but `ibkr:plugin`.
"""

import json
import math

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import prompts as p
from wit_world.exports import workflows as w
from wit_world.imports import host, market_data
from wit_world.imports import types as t

PLUGIN = "py_market_snapshot"


def stock(symbol: str) -> t.Contract:
    return t.Contract(
        con_id=0,
        symbol=symbol,
        sec_type=t.SecType.STOCK,
        exchange="SMART",
        primary_exchange=None,
        currency="USD",
        last_trade_date=None,
        strike=None,
        right=None,
        multiplier=None,
        local_symbol=None,
        trading_class=None,
        combo_legs=[],
    )


def invalid(message: str) -> Err:
    return Err(t.Error_InvalidArgument(message))


def price_of(q: t.Quote):
    if q.last is not None and q.last > 0:
        return q.last
    if q.bid is not None and q.ask is not None and q.bid > 0 and q.ask > 0:
        return (q.bid + q.ask) / 2
    if q.close is not None and q.close > 0:
        return q.close
    return None


def stdev(xs):
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def snapshot_one(symbol: str, days: int) -> dict:
    q = market_data.get_quote(stock(symbol))
    bars = market_data.get_bars(
        t.BarsRequest(
            contract=stock(symbol),
            duration=t.Duration_Days(days),
            bar_size=t.BarSize.DAY1,
            what_to_show=t.WhatToShow.TRADES,
            use_rth=True,
            end=None,
        )
    )
    closes = [b.close for b in bars]
    out = {
        "symbol": symbol,
        "price": price_of(q),
        "bid": q.bid,
        "ask": q.ask,
        "bars": len(closes),
    }
    if q.bid and q.ask and q.bid > 0 and q.ask > 0:
        mid = (q.bid + q.ask) / 2
        out["spread_bps"] = (q.ask - q.bid) / mid * 10_000
    if len(closes) >= 2:
        rets = [closes[i] / closes[i - 1] - 1 for i in range(1, len(closes))]
        out["day_change_pct"] = rets[-1] * 100
        out["period_return_pct"] = (closes[-1] / closes[0] - 1) * 100
        sd = stdev(rets)
        out["realized_vol_pct"] = sd * math.sqrt(252) * 100 if sd is not None else None
        out["high"] = max(b.high for b in bars)
        out["low"] = min(b.low for b in bars)
    return out


def markdown(rows) -> str:
    lines = [
        "| Symbol | Price | Day | Period | Realized vol | Spread (bps) |",
        "|---|---|---|---|---|---|",
    ]

    def f(x, fmt):
        return fmt.format(x) if isinstance(x, (int, float)) else "n/a"

    for r in rows:
        lines.append(
            "| {} | {} | {} | {} | {} | {} |".format(
                r["symbol"],
                f(r.get("price"), "{:.2f}"),
                f(r.get("day_change_pct"), "{:+.2f}%"),
                f(r.get("period_return_pct"), "{:+.2f}%"),
                f(r.get("realized_vol_pct"), "{:.1f}%"),
                f(r.get("spread_bps"), "{:.1f}"),
            )
        )
    return "\n".join(lines) + "\n"


class Prompts(exports.Prompts):
    def list_prompts(self):
        return [
            p.Prompt(
                name="market_snapshot",
                title="Market snapshot (Python plugin)",
                description="Quick read-only snapshot of a watchlist: price, day change, period return, realized volatility, spread",
                arguments=[
                    p.PromptArgument(
                        name="symbols",
                        description="Comma-separated symbols, e.g. SPY,QQQ,TLT",
                        required=True,
                        kind=p.ArgumentKind.TEXT,
                    )
                ],
            )
        ]

    def render_prompt(self, name, arguments):
        if name != "market_snapshot":
            raise invalid(f"unknown prompt `{name}`")
        args = dict(arguments)
        symbols = [s.strip().upper() for s in args.get("symbols", "").split(",") if s.strip()]
        if not symbols:
            raise invalid("argument `symbols` is required")
        text = (
            "# Market snapshot\n\n"
            f"Call `{PLUGIN}__snapshot` with `{json.dumps({'symbols': symbols})}` and summarise, "
            "for each symbol, the price, the day's move, the period return and the realized "
            "volatility. Point out the biggest mover and any unusually wide spread.\n"
        )
        return [p.PromptMessage(role=p.Role.USER, text=text)]


class Workflows(exports.Workflows):
    def list_workflows(self):
        schema = {
            "type": "object",
            "properties": {
                "symbols": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": 20,
                    "description": "Stock/ETF symbols",
                },
                "days": {
                    "type": "integer",
                    "minimum": 5,
                    "maximum": 400,
                    "description": "Look-back in calendar days (default 30)",
                },
            },
            "required": ["symbols"],
        }
        return [
            w.Workflow(
                name="snapshot",
                title="Market snapshot (Python)",
                description="Read-only watchlist snapshot from live quotes and daily bars: price, day change, period return, realized volatility, spread",
                input_schema=json.dumps(schema),
                output_schema=None,
                access=w.Access.READ_ONLY,
            )
        ]

    def run_workflow(self, name, input):
        if name != "snapshot":
            raise invalid(f"unknown workflow `{name}`")
        try:
            args = json.loads(input) if input.strip() else {}
        except ValueError as e:
            raise invalid(f"input is not JSON: {e}")
        symbols = args.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            raise invalid("`symbols` must be a non-empty list")
        days = int(args.get("days", 30))
        host.log(host.LogLevel.INFO, f"snapshot of {len(symbols)} symbols over {days} days")
        rows = [snapshot_one(str(s).upper(), days) for s in symbols]
        return json.dumps(
            {"report": "# Market snapshot\n\n" + markdown(rows), "data": {"symbols": rows}}
        )
