"""Fidelity tests: the real `ib_async` 2.1 client (classic text protocol, server version 178)
against the real `tws-sim` binary over loopback TCP."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import pytest
from conftest import FARM_NOTICES, wait_for
from pbclient import REQ_POSITIONS, ProtoClient
from ib_async import (
    Contract,
    ScannerSubscription,
    ExecutionFilter,
    Forex,
    Future,
    LimitOrder,
    MarketOrder,
    Option,
    Stock,
    util,
)

ACCOUNT = "DU1234567"
UNSET_DOUBLE = 1.7976931348623157e308


def num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


async def qualify(ib, contract: Contract) -> Contract:
    [c] = await ib.qualifyContractsAsync(contract)
    assert c is not None and c.conId, f"could not qualify {contract}"
    return c


async def quote(ib, contract: Contract):
    [t] = await ib.reqTickersAsync(contract)
    return t


def summary(values) -> dict[str, str]:
    return {v.tag: v.value for v in values if v.currency in ("USD", "BASE", "")}


# --------------------------------------------------------------------------------------------
# Connection and reference data
# --------------------------------------------------------------------------------------------


async def test_connect_startup_sync(connect, sim):
    t0 = asyncio.get_running_loop().time()
    c = await connect(1, raiseSyncErrors=True)
    elapsed = asyncio.get_running_loop().time() - t0
    ib = c.ib
    assert ib.isConnected()
    assert ib.client.serverVersion() == 178
    assert ib.managedAccounts() == [ACCOUNT]
    assert elapsed < 5, f"startup sync took {elapsed:.1f} s"
    assert c.real_errors() == [], c.errors
    assert set(c.codes()) <= FARM_NOTICES
    # startup sync filled positions, account values and the portfolio
    assert {p.contract.symbol for p in ib.positions()} >= {"AAPL", "SPY"}
    assert any(v.tag == "NetLiquidation" for v in ib.accountValues())
    assert {p.contract.symbol for p in ib.portfolio()} >= {"AAPL", "SPY"}
    assert ib.client.getReqId() > 0


@pytest.mark.shared_sim
async def test_current_time_and_managed_accounts(connect):
    c = await connect(1)
    t = await c.ib.reqCurrentTimeAsync()
    assert isinstance(t, dt.datetime)
    assert t.year >= 2020
    assert c.ib.client.getAccounts() == [ACCOUNT]
    assert c.real_errors() == []


async def test_client_id_in_use(connect, sim):
    await connect(7)
    from ib_async import IB

    ib2 = IB()
    errors = []
    ib2.errorEvent += lambda *a: errors.append(a[1])
    with pytest.raises(BaseException):
        await ib2.connectAsync(sim.host, sim.port, clientId=7, timeout=3)
    ib2.disconnect()
    assert 326 in errors, errors


@pytest.mark.shared_sim
async def test_contract_details_stock_future_forex(connect):
    c = await connect(1)
    ib = c.ib
    [d] = await ib.reqContractDetailsAsync(Stock("AAPL", "SMART", "USD"))
    assert d.contract.conId == 265598
    assert d.contract.secType == "STK"
    assert d.contract.primaryExchange == "NASDAQ"
    assert d.longName == "APPLE INC"
    assert d.minTick > 0
    assert "LMT" in d.orderTypes and "MKT" in d.orderTypes
    assert d.marketRuleIds
    assert d.timeZoneId

    futs = await ib.reqContractDetailsAsync(Future("ES", exchange="CME"))
    assert futs, "ES futures"
    f = futs[0].contract
    assert f.secType == "FUT" and f.symbol == "ES" and f.multiplier == "50"
    assert f.lastTradeDateOrContractMonth

    fx = await ib.reqContractDetailsAsync(Forex("EURUSD"))
    assert len(fx) == 1
    assert fx[0].contract.secType == "CASH"
    assert (fx[0].contract.symbol, fx[0].contract.currency) == ("EUR", "USD")
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_option_chain_and_option_details(connect):
    c = await connect(1)
    ib = c.ib
    chains = await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", 265598)
    assert chains
    chain = next((ch for ch in chains if ch.exchange == "SMART"), chains[0])
    assert int(chain.underlyingConId) == 265598  # ib_async keeps it as the raw string
    assert chain.multiplier == "100"
    assert len(chain.expirations) >= 2 and len(chain.strikes) >= 10
    exp = sorted(chain.expirations)[0]
    strikes = sorted(chain.strikes)
    strike = strikes[len(strikes) // 2]
    [d] = await ib.reqContractDetailsAsync(Option("AAPL", exp, strike, "C", "SMART"))
    o = d.contract
    assert o.secType == "OPT"
    assert o.lastTradeDateOrContractMonth == exp
    assert o.strike == strike and o.right == "C"
    assert o.multiplier == "100"
    assert o.conId > 0
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_matching_symbols_and_market_rule(connect):
    c = await connect(1)
    ib = c.ib
    descs = await ib.reqMatchingSymbolsAsync("AAP")
    assert descs
    assert any(d.contract.symbol == "AAPL" and d.contract.conId == 265598 for d in descs)
    [d] = await ib.reqContractDetailsAsync(Stock("AAPL", "SMART", "USD"))
    rule_id = int(d.marketRuleIds.split(",")[0])
    incs = await ib.reqMarketRuleAsync(rule_id)
    assert incs, "price increments"
    assert incs[0].lowEdge == 0
    assert incs[0].increment > 0
    assert c.real_errors() == []


# --------------------------------------------------------------------------------------------
# Market data
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_sim
async def test_streaming_ticks(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    ticker = ib.reqMktData(aapl, "", False, False)
    await wait_for(
        lambda: ticker.bid > 0 and ticker.ask > 0 and ticker.last > 0,
        what="bid/ask/last ticks",
    )
    assert ticker.ask >= ticker.bid
    assert ticker.bidSize > 0 and ticker.askSize > 0
    first = (ticker.bid, ticker.ask, ticker.last)
    updates = []
    ticker.updateEvent += lambda t: updates.append(t.time)
    await wait_for(lambda: len(updates) >= 2, timeout=15, what="streaming updates")
    ib.cancelMktData(aapl)
    assert first[0] > 0
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_snapshot_stock_forex_future(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    eur = await qualify(ib, Forex("EURUSD"))
    t = await quote(ib, aapl)
    assert t.bid > 0 and t.ask >= t.bid
    assert 50 < t.marketPrice() < 2000
    t = await quote(ib, eur)
    assert 0.5 < t.bid < 2
    assert c.real_errors() == []


@pytest.mark.shared_sim
@pytest.mark.parametrize(
    "bar_size,duration,daily",
    [("1 day", "30 D", True), ("1 hour", "2 D", False), ("5 mins", "1 D", False)],
)
async def test_historical_bars(connect, bar_size, duration, daily):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    bars = await ib.reqHistoricalDataAsync(
        aapl, "", duration, bar_size, "TRADES", useRTH=False, formatDate=1
    )
    assert len(bars) >= 5, f"{len(bars)} bars"
    for b in bars:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.volume >= 0
    dates = [b.date for b in bars]
    assert dates == sorted(dates)
    if daily:
        assert all(type(d) is dt.date for d in dates)
    else:
        assert all(isinstance(d, dt.datetime) and d.tzinfo is not None for d in dates)
        step = (dates[1] - dates[0]).total_seconds()
        assert step == {"1 hour": 3600, "5 mins": 300}[bar_size]
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_historical_epoch_dates_and_head_timestamp(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    bars = await ib.reqHistoricalDataAsync(
        aapl, "", "1 D", "15 mins", "MIDPOINT", useRTH=False, formatDate=2
    )
    assert bars and all(isinstance(b.date, dt.datetime) for b in bars)
    head = await ib.reqHeadTimeStampAsync(aapl, "TRADES", useRTH=True, formatDate=1)
    assert isinstance(head, dt.datetime)
    assert head < dt.datetime.now(head.tzinfo) - dt.timedelta(days=300)
    assert c.real_errors() == []


# --------------------------------------------------------------------------------------------
# Account
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_sim
async def test_account_summary_positions_portfolio(connect):
    c = await connect(1)
    ib = c.ib
    s = summary(await ib.accountSummaryAsync())
    for tag in ("NetLiquidation", "TotalCashValue", "BuyingPower", "GrossPositionValue"):
        assert tag in s, f"{tag} missing from {sorted(s)}"
    netliq = float(s["NetLiquidation"])
    assert 500_000 < netliq < 2_000_000
    positions = {p.contract.symbol: p for p in await ib.reqPositionsAsync()}
    assert positions["AAPL"].position == 450
    assert positions["AAPL"].avgCost == pytest.approx(181.25)
    assert positions["AAPL"].account == ACCOUNT
    portfolio = {p.contract.symbol: p for p in ib.portfolio()}
    item = portfolio["AAPL"]
    assert item.position == 450
    assert item.marketValue == pytest.approx(item.position * item.marketPrice, rel=1e-6)
    assert item.unrealizedPNL == pytest.approx(
        item.marketValue - item.position * item.averageCost, rel=1e-3, abs=1
    )
    values = {(v.tag, v.currency): v.value for v in ib.accountValues()}
    assert ("NetLiquidation", "USD") in values
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_pnl_and_pnl_single(connect):
    c = await connect(1)
    ib = c.ib
    pnl = ib.reqPnL(ACCOUNT)
    await wait_for(lambda: not math.isnan(pnl.dailyPnL), what="PnL update")
    assert not math.isnan(pnl.unrealizedPnL)
    single = ib.reqPnLSingle(ACCOUNT, "", 265598)
    await wait_for(lambda: single.position == 450, what="PnL single update")
    assert single.value > 0
    ib.cancelPnL(ACCOUNT)
    ib.cancelPnLSingle(ACCOUNT, "", 265598)
    assert c.real_errors() == []


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


async def test_market_order_fill_flows_everywhere(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    cash_before = float(summary(await ib.accountSummaryAsync())["TotalCashValue"])
    trade = ib.placeOrder(aapl, MarketOrder("BUY", 10))
    await wait_for(trade.isDone, what="MKT order done")
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.filled == 10 and trade.orderStatus.remaining == 0
    assert trade.orderStatus.avgFillPrice > 0
    assert trade.order.permId > 0
    await wait_for(lambda: trade.fills and all(f.commissionReport.execId for f in trade.fills),
                   what="fills with commission reports")
    fill = trade.fills[0]
    assert fill.execution.side == "BOT"
    assert sum(f.execution.shares for f in trade.fills) == 10
    assert fill.execution.orderId == trade.order.orderId
    assert fill.execution.clientId == 1
    assert fill.commissionReport.commission > 0
    assert fill.commissionReport.currency == "USD"
    # executions
    fills = await ib.reqExecutionsAsync()
    assert fill.execution.execId in {f.execution.execId for f in fills}
    fills = await ib.reqExecutionsAsync(ExecutionFilter(symbol="MSFT"))
    assert fill.execution.execId not in {f.execution.execId for f in fills}
    # positions (pushed to the startup subscription, and on a fresh request)
    await wait_for(lambda: any(p.contract.conId == 265598 and p.position == 460
                               for p in ib.positions()), what="pushed position 460")
    positions = {p.contract.conId: p for p in await ib.reqPositionsAsync()}
    assert positions[265598].position == 460
    # portfolio (account updates push within a few seconds)
    await wait_for(lambda: any(p.contract.conId == 265598 and p.position == 460
                               for p in ib.portfolio()), timeout=15, what="portfolio 460")
    # account summary (the subscription pushes updates): cash paid for shares and commission
    def cash_now():
        return float(summary(ib.wrapper.acctSummary.values())["TotalCashValue"])

    await wait_for(lambda: cash_now() != cash_before, timeout=15, what="account summary push")
    cash_after = cash_now()
    cost = 10 * trade.orderStatus.avgFillPrice + sum(f.commissionReport.commission for f in trade.fills)
    assert cash_before - cash_after == pytest.approx(cost, rel=1e-3, abs=0.05)
    # PnL single sees the new position
    single = ib.reqPnLSingle(ACCOUNT, "", 265598)
    await wait_for(lambda: single.position == 460, what="PnL single 460")
    # completed orders
    completed = await ib.reqCompletedOrdersAsync(False)
    assert any(t.order.permId == trade.order.permId and t.orderStatus.status == "Filled"
               for t in completed)
    assert c.real_errors() == []


async def test_limit_order_rest_modify_cancel(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    t = await quote(ib, aapl)
    price = round(t.bid * 0.8, 2)
    order = LimitOrder("BUY", 5, price)
    trade = ib.placeOrder(aapl, order)
    await wait_for(lambda: trade.orderStatus.status == "Submitted", what="LMT Submitted")
    assert not trade.isDone()
    open_trades = await ib.reqOpenOrdersAsync()
    assert any(o.order.orderId == order.orderId for o in open_trades)
    all_open = await ib.reqAllOpenOrdersAsync()
    assert any(o.order.orderId == order.orderId for o in all_open)
    # modify
    order.lmtPrice = round(price - 1, 2)
    modified = []
    ib.openOrderEvent += lambda t: modified.append(t)
    ib.placeOrder(aapl, order)
    await wait_for(lambda: modified, what="openOrder echo of the modification")
    mine = [o for o in await ib.reqOpenOrdersAsync() if o.order.orderId == order.orderId][-1]
    assert mine.order.lmtPrice == pytest.approx(price - 1)
    assert mine.order.totalQuantity == 5
    # cancel
    ib.cancelOrder(order)
    await wait_for(lambda: trade.orderStatus.status == "Cancelled", what="Cancelled")
    assert trade.isDone()
    assert not any(o.order.orderId == order.orderId for o in await ib.reqOpenOrdersAsync())
    assert c.real_errors(allowed={202}) == []


async def test_bracket_order(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    t = await quote(ib, aapl)
    entry = round(t.bid * 0.9, 2)
    bracket = ib.bracketOrder("BUY", 10, entry, round(entry * 1.1, 2), round(entry * 0.9, 2))
    trades = [ib.placeOrder(aapl, o) for o in bracket]
    parent, tp, sl = trades
    await wait_for(lambda: parent.orderStatus.status == "Submitted", what="parent Submitted")
    await wait_for(lambda: all(x.orderStatus.status in ("PreSubmitted", "Submitted") for x in (tp, sl)),
                   what="children accepted")
    assert tp.order.parentId == parent.order.orderId == sl.order.parentId
    opens = await ib.reqOpenOrdersAsync()
    ids = {o.order.orderId for o in opens}
    assert {x.order.orderId for x in trades} <= ids
    ib.cancelOrder(parent.order)
    await wait_for(lambda: all(x.orderStatus.status == "Cancelled" for x in trades),
                   what="whole bracket cancelled")
    assert c.real_errors(allowed={202}) == []


@pytest.mark.shared_sim
async def test_what_if(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    state = await ib.whatIfOrderAsync(aapl, MarketOrder("BUY", 100))
    assert state is not None
    assert num(state.initMarginChange) > 0
    assert num(state.maintMarginChange) > 0
    assert num(state.equityWithLoanAfter) > 0
    assert 0 < state.commission < UNSET_DOUBLE
    assert state.commissionCurrency == "USD"
    # nothing was placed
    assert not [t for t in await ib.reqOpenOrdersAsync()]
    positions = {p.contract.conId: p.position for p in await ib.reqPositionsAsync()}
    assert positions[265598] == 450
    assert c.real_errors() == []


async def test_error_codes(connect):
    c = await connect(1)
    ib = c.ib
    details = await ib.reqContractDetailsAsync(Stock("NOSUCHSYM", "SMART", "USD"))
    assert details == []
    assert 200 in c.codes(), c.errors
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    t = await quote(ib, aapl)
    bad = LimitOrder("BUY", 1, round(t.bid * 0.8, 2) + 0.001)
    trade = ib.placeOrder(aapl, bad)
    await wait_for(lambda: 110 in c.codes(), what="error 110")
    [err] = [e for e in c.errors if e[1] == 110]
    assert err[0] == bad.orderId
    await wait_for(trade.isDone, what="rejected order is done")


async def test_two_clients_share_the_world(connect):
    a = await connect(1)
    b = await connect(2)
    spy = await qualify(a.ib, Stock("SPY", "SMART", "USD"))
    trade = a.ib.placeOrder(spy, MarketOrder("BUY", 7))
    await wait_for(trade.isDone, what="fill")
    assert trade.orderStatus.status == "Filled"
    # client 2 sees the position both on its startup subscription and on a new request
    await wait_for(lambda: any(p.contract.conId == spy.conId and p.position == 307
                               for p in b.ib.positions()), what="client 2 pushed position")
    positions = {p.contract.conId: p.position for p in await b.ib.reqPositionsAsync()}
    assert positions[spy.conId] == 307
    # and the order in all open/completed orders, owned by client 1
    completed = await b.ib.reqCompletedOrdersAsync(False)
    assert any(t.order.permId == trade.order.permId for t in completed)
    assert a.real_errors() == [] and b.real_errors() == []


@pytest.mark.shared_sim
async def test_unsupported_request_gets_an_error_not_a_hang(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    # Fundamentals: error 430 as on a paper account without the subscription; a non-warning
    # code, so ib_async's helper fails at once instead of waiting for its timeout.
    t0 = asyncio.get_running_loop().time()
    res = await asyncio.wait_for(ib.reqFundamentalDataAsync(aapl, "ReportSnapshot"), 5)
    assert not res
    assert 430 in c.codes()
    assert asyncio.get_running_loop().time() - t0 < 3
    # A request that is not simulated at all: an error for its request id (not silence, and not
    # 321, which ib_async treats as a warning); the connection stays usable.
    req_id = ib.client.getReqId()
    ib.client.reqNewsArticle(req_id, "BRFG", "BRFG$1234", [])
    await wait_for(lambda: any(e[0] == req_id for e in c.errors), what="error for the request id")
    assert [e[1] for e in c.errors if e[0] == req_id] == [10999]
    # Historical schedule (whatToShow SCHEDULE) is not simulated either: it fails at once.
    t0 = asyncio.get_running_loop().time()
    try:
        await asyncio.wait_for(ib.reqHistoricalScheduleAsync(aapl, 5), 5)
    except asyncio.TimeoutError:
        raise
    except Exception:
        pass
    assert asyncio.get_running_loop().time() - t0 < 3
    assert 10999 in c.codes()[-1:]
    assert (await ib.reqCurrentTimeAsync()).year >= 2020


@pytest.mark.shared_sim
async def test_reference_extras(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    providers = await asyncio.wait_for(ib.reqNewsProvidersAsync(), 5)
    assert {p.code for p in providers} >= {"BRFG"}
    comps = await asyncio.wait_for(ib.reqSmartComponentsAsync("9c0001"), 5)
    assert any(x.exchange == "NYSE" for x in comps)
    hist = await asyncio.wait_for(ib.reqHistogramDataAsync(aapl, False, "1 week"), 10)
    assert len(hist) > 5 and all(h.count > 0 for h in hist)
    news = await asyncio.wait_for(
        ib.reqHistoricalNewsAsync(aapl.conId, "BRFG", "", "", 10), 5
    )
    assert news is None or not news
    assert c.real_errors() == []


async def test_protobuf_and_text_clients_share_the_world(connect, sim):
    """An ibapi-style protobuf client (v213+) and ib_async (text, v178) on one simulator."""
    pb = await asyncio.to_thread(ProtoClient, sim.host, sim.port, 9)
    try:
        assert 213 <= pb.server_version <= 226
        assert pb.accounts == [ACCOUNT]
        pb.send(REQ_POSITIONS)
        before = await asyncio.to_thread(pb.positions)
        c = await connect(1)
        spy = await qualify(c.ib, Stock("SPY", "SMART", "USD"))
        assert before[spy.conId] == 300
        trade = c.ib.placeOrder(spy, MarketOrder("SELL", 20))
        await wait_for(trade.isDone, what="fill")
        assert trade.orderStatus.status == "Filled"

        # the protobuf client's position subscription gets the update pushed
        async def pushed():
            while True:
                p = await asyncio.to_thread(pb.positions, False)
                if p.get(spy.conId) == 280:
                    return

        await asyncio.wait_for(pushed(), 10)
        # and a fresh request agrees with ib_async's view
        pb.send(REQ_POSITIONS)
        now = await asyncio.to_thread(pb.positions)
        ib_view = {p.contract.conId: p.position for p in await c.ib.reqPositionsAsync()}
        assert now == ib_view
        assert c.real_errors() == []
    finally:
        pb.close()



@pytest.mark.shared_sim
async def test_option_ticks_with_greeks(connect):
    c = await connect(1)
    ib = c.ib
    chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", 756733)
    if not chains:
        spy = await qualify(ib, Stock("SPY", "SMART", "USD"))
        chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId)
    chain = chains[0]
    spot = (await quote(ib, await qualify(ib, Stock("SPY", "SMART", "USD")))).marketPrice()
    strike = min(chain.strikes, key=lambda k: abs(k - spot))
    opt = await qualify(ib, Option("SPY", sorted(chain.expirations)[1], strike, "P", "SMART"))
    ticker = ib.reqMktData(opt, "", False, False)
    await wait_for(lambda: ticker.bid > 0 and ticker.ask > 0, what="option quotes")
    await wait_for(lambda: ticker.modelGreeks is not None, what="model greeks")
    g = ticker.modelGreeks
    assert -1 <= g.delta < 0, g
    assert 0 < g.impliedVol < 3
    assert g.undPrice == pytest.approx(spot, rel=0.05)
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_historical_keep_up_to_date(connect):
    c = await connect(1)
    ib = c.ib
    eur = await qualify(ib, Forex("EURUSD"))
    bars = await ib.reqHistoricalDataAsync(
        eur, "", "3600 S", "5 secs", "MIDPOINT", useRTH=False, keepUpToDate=True
    )
    assert len(bars) > 10
    updates = []
    bars.updateEvent += lambda b, has_new_bar: updates.append(has_new_bar)
    await wait_for(lambda: updates, timeout=15, what="keepUpToDate bar update")
    ib.cancelHistoricalData(bars)
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_scanner(connect):
    c = await connect(1)
    ib = c.ib
    xml = await ib.reqScannerParametersAsync()
    assert "<" in xml and len(xml) > 100
    sub = ScannerSubscription(
        instrument="STK", locationCode="STK.US.MAJOR", scanCode="MOST_ACTIVE", numberOfRows=10
    )
    rows = await ib.reqScannerDataAsync(sub)
    assert 0 < len(rows) <= 10
    assert [r.rank for r in rows] == list(range(len(rows)))
    assert all(r.contractDetails.contract.conId > 0 for r in rows)
    assert c.real_errors() == []


async def test_global_cancel_and_unknown_order(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    t = await quote(ib, aapl)
    trades = [ib.placeOrder(aapl, LimitOrder("BUY", 1, round(t.bid * f, 2))) for f in (0.7, 0.75)]
    await wait_for(lambda: all(x.orderStatus.status == "Submitted" for x in trades), what="resting")
    ib.reqGlobalCancel()
    await wait_for(lambda: all(x.orderStatus.status == "Cancelled" for x in trades), what="global cancel")
    ib.client.cancelOrder(987654)
    await wait_for(lambda: 10147 in c.codes(), what="error 10147 for an unknown order")
    assert c.real_errors(allowed={202, 10147}) == []


async def test_bad_messages_get_errors_and_connection_survives(connect):
    c = await connect(1)
    ib = c.ib
    ib.client.send(8, 1, "not-a-number")  # reqIds with a garbage field
    ib.client.send(4242, 1)  # no such message id
    await wait_for(lambda: c.codes().count(505) >= 2 or len(c.real_errors()) >= 2,
                   what="errors for bad messages")
    assert all(e[0] == -1 for e in c.real_errors())
    assert ib.isConnected()
    assert (await ib.reqCurrentTimeAsync()).year >= 2020


@pytest.mark.shared_sim
async def test_delayed_market_data_type(connect):
    c = await connect(1)
    ib = c.ib
    ib.reqMarketDataType(3)
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    ticker = ib.reqMktData(aapl, "", False, False)
    await wait_for(lambda: ticker.bid > 0 or ticker.last > 0, what="ticks after reqMarketDataType(3)")
    assert c.real_errors(allowed={10167}) == []


@pytest.mark.parametrize("version", [157, 158, 159, 160, 162, 163, 164, 166, 169, 170, 173, 176, 177])
async def test_older_negotiated_versions(connect, version):
    """ib_async capped at an older API version: the simulator announces that version and every
    layout that changes with it (contract data, errors, orders, executions, symbol samples)
    still decodes."""
    c = await connect(1, max_version=version, raiseSyncErrors=True)
    ib = c.ib
    assert ib.client.serverVersion() == version
    [d] = await ib.reqContractDetailsAsync(Stock("AAPL", "SMART", "USD"))
    assert d.contract.conId == 265598 and d.longName == "APPLE INC" and d.minTick > 0
    descs = await ib.reqMatchingSymbolsAsync("AAPL")
    assert any(x.contract.conId == 265598 for x in descs)
    trade = ib.placeOrder(d.contract, MarketOrder("BUY", 1))
    await wait_for(trade.isDone, what="fill")
    assert trade.orderStatus.status == "Filled"
    await wait_for(lambda: trade.fills and trade.fills[0].commissionReport.execId, what="fill")
    resting = ib.placeOrder(d.contract, LimitOrder("BUY", 1, round(trade.orderStatus.avgFillPrice * 0.7, 2)))
    await wait_for(lambda: resting.orderStatus.status == "Submitted", what="resting order")
    ib.cancelOrder(resting.order)
    await wait_for(lambda: resting.orderStatus.status == "Cancelled", what="cancel")
    completed = await ib.reqCompletedOrdersAsync(False)
    assert any(t.order.permId == trade.order.permId for t in completed)
    fills = await ib.reqExecutionsAsync()
    assert trade.fills[0].execution.execId in {f.execution.execId for f in fills}
    await ib.reqContractDetailsAsync(Stock("NOSUCHSYM", "SMART", "USD"))
    assert 200 in c.codes()
    assert c.real_errors(allowed={200, 202}) == []


async def test_master_client_zero_and_readonly(connect):
    c0 = await connect(0)  # client 0 binds manual orders (reqAutoOpenOrders)
    ro = await connect(5, readonly=True)
    assert c0.real_errors() == [] and ro.real_errors() == []
    assert {p.contract.symbol for p in ro.ib.positions()} >= {"AAPL"}


async def test_closing_trade_realizes_pnl(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    pnl = ib.reqPnL(ACCOUNT)
    await wait_for(lambda: not math.isnan(pnl.realizedPnL), what="PnL")
    realized_before = pnl.realizedPnL
    avg_cost = {p.contract.conId: p.avgCost for p in ib.positions()}[265598]
    trade = ib.placeOrder(aapl, MarketOrder("SELL", 50))
    await wait_for(trade.isDone, what="sell filled")
    await wait_for(lambda: trade.fills and trade.fills[-1].commissionReport.execId, what="report")
    assert all(f.execution.side == "SLD" for f in trade.fills)
    realized = sum(f.commissionReport.realizedPNL for f in trade.fills)
    commission = sum(f.commissionReport.commission for f in trade.fills)
    expected = 50 * (trade.orderStatus.avgFillPrice - avg_cost) - commission
    assert realized == pytest.approx(expected, rel=1e-3, abs=0.05)
    await wait_for(lambda: abs(pnl.realizedPnL - realized_before - realized) < 1,
                   timeout=10, what="PnL realized update")
    await wait_for(lambda: any(p.contract.conId == 265598 and p.position == 400
                               for p in ib.positions()), what="position 400")
    # PnL's unrealized agrees with the portfolio (prices move a little between pushes)
    await wait_for(lambda: any(p.contract.conId == 265598 and p.position == 400
                               for p in ib.portfolio()), timeout=15, what="portfolio 400")
    total = sum(p.unrealizedPNL for p in ib.portfolio())
    assert pnl.unrealizedPnL == pytest.approx(total, rel=0.02)
    assert c.real_errors() == []


async def test_connect_options_pace_api(sim):
    from ib_async import IB

    ib = IB()
    ib.client.setConnectOptions("+PACEAPI")
    try:
        await ib.connectAsync(sim.host, sim.port, clientId=3, timeout=10)
        assert ib.client.serverVersion() == 178
        assert ib.managedAccounts() == [ACCOUNT]
    finally:
        ib.disconnect()


@pytest.mark.shared_sim
async def test_historical_with_end_date_time(connect):
    c = await connect(1)
    ib = c.ib
    spy = await qualify(ib, Stock("SPY", "SMART", "USD"))
    end = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    bars = await ib.reqHistoricalDataAsync(spy, end, "2 D", "1 hour", "TRADES", useRTH=False)
    assert len(bars) >= 10
    assert bars[-1].date <= end
    assert bars[0].date >= end - dt.timedelta(days=5)
    daily = await ib.reqHistoricalDataAsync(spy, end, "1 M", "1 day", "TRADES", useRTH=True)
    assert daily and daily[-1].date <= end.date()
    assert c.real_errors() == []


async def test_option_and_future_orders_positions(connect):
    """Derivative contract blocks (strike/right/multiplier/expiry) through orders, executions,
    positions and the portfolio."""
    c = await connect(1)
    ib = c.ib
    chains = await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", 265598)
    chain = chains[0]
    spot = (await quote(ib, await qualify(ib, Stock("AAPL", "SMART", "USD")))).marketPrice()
    strike = min(chain.strikes, key=lambda k: abs(k - spot))
    exp = sorted(chain.expirations)[2]
    opt = await qualify(ib, Option("AAPL", exp, strike, "C", "SMART"))
    fut = (await ib.reqContractDetailsAsync(Future("ES", exchange="CME")))[0].contract
    t1 = ib.placeOrder(opt, MarketOrder("BUY", 2))
    t2 = ib.placeOrder(fut, MarketOrder("BUY", 1))
    await wait_for(lambda: t1.isDone() and t2.isDone(), what="derivative fills")
    assert t1.orderStatus.status == t2.orderStatus.status == "Filled"
    await wait_for(lambda: t1.fills and t2.fills, what="fills")
    ex_opt = t1.fills[0].contract
    assert (ex_opt.secType, ex_opt.right, ex_opt.strike, ex_opt.multiplier) == ("OPT", "C", strike, "100")
    assert ex_opt.lastTradeDateOrContractMonth == exp
    positions = {p.contract.conId: p for p in await ib.reqPositionsAsync()}
    po = positions[opt.conId]
    assert po.position == 2
    assert po.contract.secType == "OPT" and po.contract.strike == strike and po.contract.right == "C"
    # option average cost is per contract (price x multiplier)
    assert po.avgCost == pytest.approx(t1.orderStatus.avgFillPrice * 100, rel=0.01)
    pf = positions[fut.conId]
    assert pf.position == 1 and pf.contract.secType == "FUT" and pf.contract.multiplier == "50"
    assert pf.avgCost == pytest.approx(t2.orderStatus.avgFillPrice * 50, rel=0.01)
    await wait_for(lambda: {opt.conId, fut.conId} <= {p.contract.conId for p in ib.portfolio()},
                   timeout=15, what="derivatives in the portfolio")
    item = next(p for p in ib.portfolio() if p.contract.conId == opt.conId)
    assert item.marketValue == pytest.approx(item.marketPrice * 2 * 100, rel=1e-3)
    assert c.real_errors() == []


@pytest.mark.shared_sim
async def test_many_concurrent_requests(connect):
    c = await connect(1)
    ib = c.ib
    symbols = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "XOM", "KO",
               "JNJ", "V", "SPY", "QQQ", "VTI", "TLT", "BND", "GLD", "XLK", "XLF"]
    contracts = await ib.qualifyContractsAsync(*[Stock(s, "SMART", "USD") for s in symbols])
    assert all(x is not None and x.conId for x in contracts)
    tickers = await ib.reqTickersAsync(*contracts)
    assert len(tickers) == len(symbols)
    assert all(t.bid > 0 and t.ask > 0 for t in tickers)
    assert c.real_errors() == []


async def test_reconnect_same_client_id(connect, sim):
    c = await connect(4)
    assert 4 in sim.client_ids()
    c.ib.disconnect()
    # The simulator releases the id once it has seen the disconnect.
    await wait_for(lambda: 4 not in sim.client_ids(), what="client id 4 released")
    again = await connect(4)
    assert again.ib.isConnected()
    assert again.real_errors() == []


@pytest.mark.shared_sim
async def test_future_and_index_market_data(connect):
    from ib_async import Index

    c = await connect(1)
    ib = c.ib
    fut = (await ib.reqContractDetailsAsync(Future("ES", exchange="CME")))[0].contract
    spx = await qualify(ib, Index("SPX", "CBOE", "USD"))
    tf = ib.reqMktData(fut, "", False, False)
    ti = ib.reqMktData(spx, "", False, False)
    await wait_for(lambda: tf.bid > 0 and tf.ask > 0, what="ES quotes")
    await wait_for(lambda: ti.last > 0 or ti.close > 0, what="SPX index value")
    assert tf.ask - tf.bid >= 0.25 - 1e-9  # ES min tick
    assert 1000 < (ti.last if ti.last > 0 else ti.close) < 20000
    assert c.real_errors() == []


# --------------------------------------------------------------------------------------------
# Real-time bars, tick-by-tick, market depth, historical ticks
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def fast_ib():
    """ib_async on a simulator whose clock runs 20x (a 5-second bar every 250 ms)."""
    from conftest import start_sim, stop_sim
    from ib_async import IB

    s = start_sim(["--speed", "20"])
    ib = IB()
    errors = []
    ib.errorEvent += lambda *a: errors.append(a[:3])
    try:
        await ib.connectAsync(s.host, s.port, clientId=1, timeout=10)
        ib.errors = errors
        yield ib
    finally:
        ib.disconnect()
        stop_sim(s)


async def test_realtime_bars_match_historical_bars(fast_ib):
    ib = fast_ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    bars = ib.reqRealTimeBars(aapl, 5, "TRADES", False)
    await wait_for(lambda: len(bars) >= 3, timeout=15, what="three real-time bars")
    ib.cancelRealTimeBars(bars)
    got = list(bars)
    stamps = [b.time.timestamp() for b in got]
    assert all(b - a == 5 for a, b in zip(stamps, stamps[1:])), stamps
    for b in got:
        assert b.low <= min(b.open_, b.close) <= max(b.open_, b.close) <= b.high, b
        assert b.volume > 0 and b.count > 0, b
    hist = await ib.reqHistoricalDataAsync(
        aapl, "", "300 S", "5 secs", "TRADES", useRTH=False, formatDate=2
    )
    by_time = {h.date.timestamp(): h for h in hist}
    for b in got:
        h = by_time[b.time.timestamp()]
        assert (h.open, h.high, h.low, h.close) == (b.open_, b.high, b.low, b.close)
        assert h.volume == b.volume
    mid = ib.reqRealTimeBars(await qualify(ib, Forex("EURUSD")), 5, "MIDPOINT", False)
    await wait_for(lambda: len(mid) >= 1, timeout=15, what="FX midpoint bar")
    assert 0.5 < mid[0].close < 2.0
    assert [e for e in ib.errors if e[1] not in FARM_NOTICES] == []


async def test_tick_by_tick_streams(connect):
    c = await connect(1)
    ib = c.ib
    spy = await qualify(ib, Stock("SPY", "SMART", "USD"))
    eur = await qualify(ib, Forex("EURUSD"))
    seen: dict[str, list] = {"Last": [], "BidAsk": [], "MidPoint": []}
    # ib_async keeps one Ticker per contract: SPY's Last and MidPoint ticks share one list.
    types = {"Last": "TickByTickAllLast", "BidAsk": "TickByTickBidAsk", "MidPoint": "TickByTickMidPoint"}
    for contract, kind, n in ((spy, "Last", 5), (eur, "BidAsk", 0), (spy, "MidPoint", 0)):
        t = ib.reqTickByTickData(contract, kind, n)
        t.updateEvent += lambda tk, kind=kind: seen[kind].extend(
            x for x in tk.tickByTicks if type(x).__name__ == types[kind]
        )
    # A deadline, not a speed bound: on a loaded 2-core CI runner the first ticks once took
    # longer than 15 s (seen once in a fresh-clone run); the failure names the counts reached.
    try:
        await wait_for(
            lambda: len(seen["Last"]) >= 8 and len(seen["BidAsk"]) >= 3 and len(seen["MidPoint"]) >= 3,
            timeout=45,
            what="tick-by-tick ticks",
        )
    except AssertionError as e:
        counts = {k: len(v) for k, v in seen.items()}
        raise AssertionError(f"{e}; ticks seen so far: {counts}") from None
    for tr in seen["Last"]:
        assert tr.tickType == 1 and tr.price > 0 and tr.size >= 100 and tr.exchange
        assert not tr.tickAttribLast.unreported
    for q in seen["BidAsk"]:
        assert 0.5 < q.bidPrice < q.askPrice < 2.0 and q.bidSize > 0 and q.askSize > 0
    assert all(m.midPoint > 0 for m in seen["MidPoint"])
    assert ib.cancelTickByTickData(spy, "Last")
    assert ib.cancelTickByTickData(eur, "BidAsk")
    assert c.real_errors() == []


async def test_market_depth_book_and_limit(connect):
    c = await connect(1)
    ib = c.ib
    exchanges = await asyncio.wait_for(ib.reqMktDepthExchangesAsync(), 5)
    assert any(d.exchange == "ISLAND" and d.serviceDataType == "Deep2" for d in exchanges)
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    ticker = ib.reqMktDepth(aapl, 5, isSmartDepth=True)
    ticks = []
    ticker.updateEvent += lambda t: ticks.extend(t.domTicks)
    await wait_for(
        lambda: len(ticker.domBids) == 5 and len(ticker.domAsks) == 5, what="5x5 book"
    )
    bids = [lv.price for lv in ticker.domBids]
    asks = [lv.price for lv in ticker.domAsks]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    assert all(lv.size > 0 and lv.marketMaker for lv in ticker.domBids)
    n0 = len(ticks)
    await wait_for(lambda: len(ticks) > n0, what="depth updates")
    # TWS allows three depth subscriptions; the fourth gets error 309.
    others = [await qualify(ib, Stock(s, "SMART", "USD")) for s in ("MSFT", "SPY", "QQQ")]
    for o in others:
        ib.reqMktDepth(o, 3)
    await wait_for(lambda: 309 in c.codes(), what="error 309")
    ib.cancelMktDepth(aapl, isSmartDepth=True)
    assert c.real_errors(allowed={309}) == []


@pytest.mark.shared_sim
async def test_historical_ticks(connect):
    c = await connect(1)
    ib = c.ib
    aapl = await qualify(ib, Stock("AAPL", "SMART", "USD"))
    now = dt.datetime.now(dt.timezone.utc)
    trades = await asyncio.wait_for(
        ib.reqHistoricalTicksAsync(aapl, "", now, 100, "TRADES", useRth=False), 10
    )
    assert len(trades) >= 100
    assert all(a.time <= b.time for a, b in zip(trades, trades[1:]))
    assert all(t.price > 0 and t.size > 0 and t.exchange for t in trades)
    bars = await ib.reqHistoricalDataAsync(
        aapl, "", "1800 S", "1 min", "TRADES", useRTH=False, formatDate=2
    )
    lo = min(b.low for b in bars)
    hi = max(b.high for b in bars)
    assert all(lo <= t.price <= hi for t in trades)
    start = now - dt.timedelta(minutes=5)
    quotes = await asyncio.wait_for(
        ib.reqHistoricalTicksAsync(aapl, start, "", 50, "BID_ASK", useRth=False), 10
    )
    assert len(quotes) >= 50
    assert quotes[0].time >= start.replace(microsecond=0)
    assert all(q.priceBid < q.priceAsk for q in quotes)
    mids = await asyncio.wait_for(
        ib.reqHistoricalTicksAsync(aapl, "", now, 20, "MIDPOINT", useRth=False), 10
    )
    assert len(mids) >= 20 and all(m.price > 0 for m in mids)
    # FX has no trades: a fast error 162, not a timeout.
    eur = await qualify(ib, Forex("EURUSD"))
    res = await asyncio.wait_for(
        ib.reqHistoricalTicksAsync(eur, "", now, 10, "TRADES", useRth=False), 5
    )
    assert not res
    assert 162 in c.codes()
