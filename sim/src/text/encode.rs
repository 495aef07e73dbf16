//! [`Response`] -> server message, in the layout `ib_async` 2.1's `decoder.py` reads at the
//! negotiated server version (157..=178).

use super::fields::{UNSET_DOUBLE_STR, W};
use crate::api::{Bar, Contract, ContractDetails, Order, OrderState, Response};
use crate::wire::put_frame;

/// Encode everything except the historical-data messages (see `TextCodec`).
pub(crate) fn encode(v: i32, resp: &Response, out: &mut Vec<u8>) {
    put_frame(out, |b| {
        let mut w = W(b);
        body(v, resp, &mut w);
    });
}

fn body(v: i32, resp: &Response, w: &mut W<'_>) {
    match resp {
        Response::Error {
            id,
            code,
            message,
            advanced_order_reject_json,
            ..
        } => {
            w.i(4).i(2).i(*id).i(*code).s(message);
            if v >= 166 {
                w.s(advanced_order_reject_json);
            }
        }
        Response::ManagedAccounts { accounts } => {
            w.i(15).i(1).s(&accounts.join(","));
        }
        Response::NextValidId { order_id } => {
            w.i(9).i(1).i(*order_id);
        }
        Response::CurrentTime { time } => {
            w.i(49).i(1).i(*time);
        }
        Response::ContractData { req_id, details } => contract_data(v, *req_id, details, w),
        Response::ContractDataEnd { req_id } => {
            w.i(52).i(1).i(*req_id);
        }
        Response::SymbolSamples {
            req_id,
            descriptions,
        } => {
            w.i(79).i(*req_id).i(descriptions.len() as i64);
            for d in descriptions {
                let c = &d.contract;
                w.i(c.con_id)
                    .s(&c.symbol)
                    .s(&c.sec_type)
                    .s(&c.primary_exchange)
                    .s(&c.currency)
                    .i(d.derivative_sec_types.len() as i64);
                for t in &d.derivative_sec_types {
                    w.s(t);
                }
                if v >= 176 {
                    w.s(&c.description).s("");
                }
            }
        }
        Response::MarketRule {
            market_rule_id,
            increments,
        } => {
            w.i(93).i(*market_rule_id).i(increments.len() as i64);
            for inc in increments {
                w.f(inc.low_edge).f(inc.increment);
            }
        }
        Response::SecDefOptParams {
            req_id,
            exchange,
            underlying_con_id,
            trading_class,
            multiplier,
            expirations,
            strikes,
        } => {
            w.i(75)
                .i(*req_id)
                .s(exchange)
                .i(*underlying_con_id)
                .s(trading_class)
                .s(multiplier)
                .i(expirations.len() as i64);
            for e in expirations {
                w.s(e);
            }
            w.i(strikes.len() as i64);
            for s in strikes {
                w.f(*s);
            }
        }
        Response::SecDefOptParamsEnd { req_id } => {
            w.i(76).i(*req_id);
        }
        Response::TickReqParams {
            req_id,
            min_tick,
            bbo_exchange,
            snapshot_permissions,
        } => {
            w.i(81)
                .i(*req_id)
                .f(*min_tick)
                .s(bbo_exchange)
                .i(*snapshot_permissions);
        }
        Response::MarketDataType {
            req_id,
            market_data_type,
        } => {
            w.i(58).i(1).i(*req_id).i(*market_data_type);
        }
        Response::TickPrice {
            req_id,
            tick_type,
            price,
            size,
            attr_mask,
        } => {
            w.i(1).i(6).i(*req_id).i(*tick_type).f(*price);
            match size {
                Some(s) => w.d(*s),
                None => w.s(""),
            };
            w.i(*attr_mask);
        }
        Response::TickSize {
            req_id,
            tick_type,
            size,
        } => {
            w.i(2).i(6).i(*req_id).i(*tick_type).d(*size);
        }
        Response::TickString {
            req_id,
            tick_type,
            value,
        } => {
            w.i(46).i(6).i(*req_id).i(*tick_type).s(value);
        }
        Response::TickGeneric {
            req_id,
            tick_type,
            value,
        } => {
            w.i(45).i(6).i(*req_id).i(*tick_type).f(*value);
        }
        Response::TickOptionComputation {
            req_id,
            tick_type,
            tick_attrib,
            implied_vol,
            delta,
            opt_price,
            pv_dividend,
            gamma,
            vega,
            theta,
            und_price,
        } => {
            // Unset values: -1 for prices/volatility, -2 for the greeks (as TWS sends them).
            let p = |x: &Option<f64>| x.unwrap_or(-1.0);
            let g = |x: &Option<f64>| x.unwrap_or(-2.0);
            w.i(21)
                .i(*req_id)
                .i(*tick_type)
                .i(*tick_attrib)
                .f(p(implied_vol))
                .f(g(delta))
                .f(p(opt_price))
                .f(p(pv_dividend))
                .f(g(gamma))
                .f(g(vega))
                .f(g(theta))
                .f(p(und_price));
        }
        Response::TickSnapshotEnd { req_id } => {
            w.i(57).i(1).i(*req_id);
        }
        Response::HistoricalData { .. }
        | Response::HistoricalDataEnd { .. }
        | Response::HistoricalDataUpdate { .. } => {
            unreachable!("historical data is encoded by TextCodec::encode_response")
        }
        Response::HeadTimestamp {
            req_id,
            head_timestamp,
        } => {
            w.i(88).i(*req_id).s(head_timestamp);
        }
        Response::AccountSummary {
            req_id,
            account,
            tag,
            value,
            currency,
        } => {
            w.i(63)
                .i(1)
                .i(*req_id)
                .s(account)
                .s(tag)
                .s(value)
                .s(currency);
        }
        Response::AccountSummaryEnd { req_id } => {
            w.i(64).i(1).i(*req_id);
        }
        Response::Position {
            account,
            contract,
            position,
            avg_cost,
        } => {
            w.i(61).i(3).s(account);
            contract11(contract, w);
            w.d(*position).f(*avg_cost);
        }
        Response::PositionEnd => {
            w.i(62).i(1);
        }
        Response::PositionMulti {
            req_id,
            account,
            model_code,
            contract,
            position,
            avg_cost,
        } => {
            w.i(71).i(1).i(*req_id).s(account);
            contract11(contract, w);
            w.d(*position).f(*avg_cost).s(model_code);
        }
        Response::PositionMultiEnd { req_id } => {
            w.i(72).i(1).i(*req_id);
        }
        Response::AccountValue {
            key,
            value,
            currency,
            account,
        } => {
            w.i(6).i(2).s(key).s(value).s(currency).s(account);
        }
        Response::PortfolioValue {
            contract: c,
            position,
            market_price,
            market_value,
            average_cost,
            unrealized_pnl,
            realized_pnl,
            account,
        } => {
            w.i(7)
                .i(8)
                .i(c.con_id)
                .s(&c.symbol)
                .s(&c.sec_type)
                .s(&c.last_trade_date_or_contract_month)
                .f(c.strike)
                .s(&c.right)
                .s(&c.multiplier)
                .s(&c.primary_exchange)
                .s(&c.currency)
                .s(&c.local_symbol)
                .s(&c.trading_class)
                .d(*position)
                .f(*market_price)
                .f(*market_value)
                .f(*average_cost)
                .f(*unrealized_pnl)
                .f(*realized_pnl)
                .s(account);
        }
        Response::AccountUpdateTime { time } => {
            w.i(8).i(1).s(time);
        }
        Response::AccountDownloadEnd { account } => {
            w.i(54).i(1).s(account);
        }
        Response::AccountUpdateMulti {
            req_id,
            account,
            model_code,
            key,
            value,
            currency,
        } => {
            w.i(73)
                .i(1)
                .i(*req_id)
                .s(account)
                .s(model_code)
                .s(key)
                .s(value)
                .s(currency);
        }
        Response::AccountUpdateMultiEnd { req_id } => {
            w.i(74).i(1).i(*req_id);
        }
        Response::PnL {
            req_id,
            daily_pnl,
            unrealized_pnl,
            realized_pnl,
        } => {
            w.i(94)
                .i(*req_id)
                .f(*daily_pnl)
                .fo(*unrealized_pnl)
                .fo(*realized_pnl);
        }
        Response::PnLSingle {
            req_id,
            position,
            daily_pnl,
            unrealized_pnl,
            realized_pnl,
            value,
        } => {
            w.i(95)
                .i(*req_id)
                .d(*position)
                .f(*daily_pnl)
                .fo(*unrealized_pnl)
                .fo(*realized_pnl)
                .f(*value);
        }
        Response::OpenOrder {
            order_id,
            contract,
            order,
            state,
        } => open_order(v, *order_id, contract, order, state, w),
        Response::OpenOrderEnd => {
            w.i(53).i(1);
        }
        Response::OrderStatus {
            order_id,
            status,
            filled,
            remaining,
            avg_fill_price,
            perm_id,
            parent_id,
            last_fill_price,
            client_id,
            why_held,
            mkt_cap_price,
        } => {
            w.i(3)
                .i(*order_id)
                .s(status)
                .d(*filled)
                .d(*remaining)
                .f(*avg_fill_price)
                .i(*perm_id)
                .i(*parent_id)
                .f(*last_fill_price)
                .i(*client_id)
                .s(why_held)
                .f(*mkt_cap_price);
        }
        Response::CompletedOrder {
            contract,
            order,
            state,
        } => completed_order(v, contract, order, state, w),
        Response::CompletedOrdersEnd => {
            w.i(102);
        }
        Response::ExecDetails {
            req_id,
            contract: c,
            execution: e,
        } => {
            w.i(11).i(*req_id).i(e.order_id);
            contract11(c, w);
            w.s(&e.exec_id)
                .s(&format_time(e.time))
                .s(&e.account)
                .s(&e.exchange)
                .s(&e.side)
                .d(e.shares)
                .f(e.price)
                .i(e.perm_id)
                .i(e.client_id)
                .i(e.liquidation)
                .d(e.cum_qty)
                .f(e.avg_price)
                .s(&e.order_ref)
                .s(&e.ev_rule);
            if e.ev_multiplier == 0.0 {
                w.s("");
            } else {
                w.f(e.ev_multiplier);
            }
            w.s(&e.model_code).i(e.last_liquidity);
            if v >= 178 {
                w.b(false);
            }
        }
        Response::ExecDetailsEnd { req_id } => {
            w.i(55).i(1).i(*req_id);
        }
        Response::CommissionReport { report } => {
            w.i(59)
                .i(1)
                .s(&report.exec_id)
                .f(report.commission)
                .s(&report.currency)
                .fo(report.realized_pnl)
                .fo(report.yield_);
            if report.yield_redemption_date == 0 {
                w.s("");
            } else {
                w.i(report.yield_redemption_date);
            }
        }
        Response::NewsBulletin {
            msg_id,
            msg_type,
            message,
            origin_exchange,
        } => {
            w.i(14)
                .i(1)
                .i(*msg_id)
                .i(*msg_type)
                .s(message)
                .s(origin_exchange);
        }
        Response::ScannerParameters { xml } => {
            w.i(19).i(1).s(xml);
        }
        Response::ScannerData { req_id, rows } => {
            w.i(20).i(3).i(*req_id).i(rows.len() as i64);
            for row in rows {
                let c = &row.details.contract;
                w.i(row.rank)
                    .i(c.con_id)
                    .s(&c.symbol)
                    .s(&c.sec_type)
                    .s(&c.last_trade_date_or_contract_month)
                    .f(c.strike)
                    .s(&c.right)
                    .s(&c.exchange)
                    .s(&c.currency)
                    .s(&c.local_symbol)
                    .s(&row.details.market_name)
                    .s(&c.trading_class)
                    .s(&row.distance)
                    .s(&row.benchmark)
                    .s(&row.projection)
                    .s(&row.legs);
            }
        }
        Response::RealTimeBar { req_id, bar } => {
            w.i(50)
                .i(3)
                .i(*req_id)
                .i(bar.time)
                .f(bar.open)
                .f(bar.high)
                .f(bar.low)
                .f(bar.close)
                .d(bar.volume)
                .d(bar.wap)
                .i(bar.count);
        }
        Response::TickByTickLast {
            req_id,
            tick_type,
            tick,
        } => {
            w.i(99)
                .i(*req_id)
                .i(*tick_type)
                .i(tick.time)
                .f(tick.price)
                .d(tick.size)
                .i(last_mask(tick))
                .s(&tick.exchange)
                .s(&tick.special_conditions);
        }
        Response::TickByTickBidAsk { req_id, tick } => {
            // Tick-by-tick: bit 0 bidPastLow, bit 1 askPastHigh.
            let mask = i32::from(tick.bid_past_low) | (i32::from(tick.ask_past_high) << 1);
            w.i(99)
                .i(*req_id)
                .i(3)
                .i(tick.time)
                .f(tick.bid)
                .f(tick.ask)
                .d(tick.bid_size)
                .d(tick.ask_size)
                .i(mask);
        }
        Response::TickByTickMidPoint { req_id, time, mid } => {
            w.i(99).i(*req_id).i(4).i(*time).f(*mid);
        }
        Response::MarketDepth {
            req_id,
            position,
            market_maker,
            operation,
            side,
            price,
            size,
            is_smart_depth,
        } => match market_maker {
            None => {
                w.i(12)
                    .i(1)
                    .i(*req_id)
                    .i(*position)
                    .i(*operation)
                    .i(*side)
                    .f(*price)
                    .d(*size);
            }
            Some(mm) => {
                w.i(13)
                    .i(1)
                    .i(*req_id)
                    .i(*position)
                    .s(mm)
                    .i(*operation)
                    .i(*side)
                    .f(*price)
                    .d(*size)
                    .b(*is_smart_depth);
            }
        },
        Response::MktDepthExchanges { exchanges } => {
            w.i(80).i(exchanges.len() as i64);
            for d in exchanges {
                w.s(&d.exchange)
                    .s(&d.sec_type)
                    .s(&d.listing_exchange)
                    .s(&d.service_data_type)
                    .i(d.agg_group);
            }
        }
        Response::HistoricalTicks {
            req_id,
            ticks,
            done,
        } => {
            w.i(96).i(*req_id).i(ticks.len() as i64);
            for t in ticks {
                w.i(t.time).i(0).f(t.price).d(t.size);
            }
            w.b(*done);
        }
        Response::HistoricalTicksBidAsk {
            req_id,
            ticks,
            done,
        } => {
            w.i(97).i(*req_id).i(ticks.len() as i64);
            for t in ticks {
                // Historical ticks: bit 0 askPastHigh, bit 1 bidPastLow.
                let mask = i32::from(t.ask_past_high) | (i32::from(t.bid_past_low) << 1);
                w.i(t.time)
                    .i(mask)
                    .f(t.bid)
                    .f(t.ask)
                    .d(t.bid_size)
                    .d(t.ask_size);
            }
            w.b(*done);
        }
        Response::HistoricalTicksLast {
            req_id,
            ticks,
            done,
        } => {
            w.i(98).i(*req_id).i(ticks.len() as i64);
            for t in ticks {
                w.i(t.time)
                    .i(last_mask(t))
                    .f(t.price)
                    .d(t.size)
                    .s(&t.exchange)
                    .s(&t.special_conditions);
            }
            w.b(*done);
        }
        Response::HistogramData { req_id, entries } => {
            w.i(89).i(*req_id).i(entries.len() as i64);
            for (p, n) in entries {
                w.f(*p).d(*n);
            }
        }
        Response::NewsProviders { providers } => {
            w.i(85).i(providers.len() as i64);
            for (c, n) in providers {
                w.s(c).s(n);
            }
        }
        Response::SmartComponents { req_id, components } => {
            w.i(82).i(*req_id).i(components.len() as i64);
            for (b, e, l) in components {
                w.i(*b).s(e).s(l);
            }
        }
        Response::FamilyCodes { codes } => {
            w.i(78).i(codes.len() as i64);
            for (a, c) in codes {
                w.s(a).s(c);
            }
        }
        Response::SoftDollarTiers { req_id, tiers } => {
            w.i(77).i(*req_id).i(tiers.len() as i64);
            for (n, v, d) in tiers {
                w.s(n).s(v).s(d);
            }
        }
        Response::UserInfo {
            req_id,
            white_branding_id,
        } => {
            w.i(107).i(*req_id).s(white_branding_id);
        }
        Response::HistoricalNewsEnd { req_id, has_more } => {
            w.i(87).i(*req_id).b(*has_more);
        }
    }
}

/// Trade attributes: bit 0 pastLimit, bit 1 unreported.
fn last_mask(t: &crate::api::TickLast) -> i32 {
    i32::from(t.past_limit) | (i32::from(t.unreported) << 1)
}

/// The 11-field contract block of position / execDetails / openOrder: conId, symbol, secType,
/// lastTradeDateOrContractMonth, strike, right, multiplier, exchange, currency, localSymbol,
/// tradingClass.
fn contract11(c: &Contract, w: &mut W<'_>) {
    w.i(c.con_id)
        .s(&c.symbol)
        .s(&c.sec_type)
        .s(&c.last_trade_date_or_contract_month)
        .f(c.strike)
        .s(&c.right)
        .s(&c.multiplier)
        .s(&c.exchange)
        .s(&c.currency)
        .s(&c.local_symbol)
        .s(&c.trading_class);
}

/// Time of executions and similar: "yyyymmdd hh:mm:ss UTC" (TWS appends its time zone).
pub(crate) fn format_time(epoch: i64) -> String {
    crate::wire::format_tws_time(epoch)
}

fn format_bar_date(time: i64, format_date: i32, daily: bool) -> String {
    let dt = chrono::DateTime::from_timestamp(time, 0).unwrap_or_default();
    if daily {
        dt.format("%Y%m%d").to_string()
    } else if format_date == 2 {
        time.to_string()
    } else {
        format_time(time)
    }
}

fn contract_data(v: i32, req_id: i32, d: &ContractDetails, w: &mut W<'_>) {
    let c = &d.contract;
    w.i(10);
    if v < 164 {
        w.i(8);
    }
    let last = &c.last_trade_date_or_contract_month;
    let last_times = if !last.is_empty() && !d.last_trade_time.is_empty() {
        if d.time_zone_id.is_empty() {
            format!("{last} {}", d.last_trade_time)
        } else {
            format!("{last} {} {}", d.last_trade_time, d.time_zone_id)
        }
    } else {
        last.clone()
    };
    w.i(req_id)
        .s(&c.symbol)
        .s(&c.sec_type)
        .s(&last_times)
        .f(c.strike)
        .s(&c.right)
        .s(&c.exchange)
        .s(&c.currency)
        .s(&c.local_symbol)
        .s(&d.market_name)
        .s(&c.trading_class)
        .i(c.con_id)
        .f(d.min_tick);
    if v < 164 {
        w.i(1); // mdSizeMultiplier
    }
    w.s(&c.multiplier)
        .s(&d.order_types)
        .s(&d.valid_exchanges)
        .i(d.price_magnifier)
        .i(d.under_con_id)
        .s(&d.long_name)
        .s(&c.primary_exchange)
        .s(&d.contract_month)
        .s(&d.industry)
        .s(&d.category)
        .s(&d.subcategory)
        .s(&d.time_zone_id)
        .s(&d.trading_hours)
        .s(&d.liquid_hours)
        .s(&d.ev_rule);
    if d.ev_multiplier == 0.0 {
        w.s("");
    } else {
        w.f(d.ev_multiplier);
    }
    w.i(d.sec_id_list.len() as i64);
    for (tag, value) in &d.sec_id_list {
        w.s(tag).s(value);
    }
    w.i(d.agg_group)
        .s(&d.under_symbol)
        .s(&d.under_sec_type)
        .s(&d.market_rule_ids)
        .s(&d.real_expiration_date)
        .s(&d.stock_type);
    if v == 163 {
        w.d(d.suggested_size_increment);
    }
    if v >= 164 {
        w.d(d.min_size)
            .d(d.size_increment)
            .d(d.suggested_size_increment);
    }
}

pub(crate) fn historical_data(
    req_id: i32,
    start: &str,
    end: &str,
    bars: &[Bar],
    format_date: i32,
    daily: bool,
    out: &mut Vec<u8>,
) {
    put_frame(out, |b| {
        let mut w = W(b);
        w.i(17).i(req_id).s(start).s(end).i(bars.len() as i64);
        for bar in bars {
            w.s(&format_bar_date(bar.time, format_date, daily))
                .f(bar.open)
                .f(bar.high)
                .f(bar.low)
                .f(bar.close)
                .d(bar.volume)
                .d(bar.wap)
                .i(bar.count);
        }
    });
}

pub(crate) fn historical_data_update(
    req_id: i32,
    bar: &Bar,
    format_date: i32,
    daily: bool,
    out: &mut Vec<u8>,
) {
    put_frame(out, |b| {
        let mut w = W(b);
        w.i(90)
            .i(req_id)
            .i(bar.count)
            .s(&format_bar_date(bar.time, format_date, daily))
            .f(bar.open)
            .f(bar.close)
            .f(bar.high)
            .f(bar.low)
            .d(bar.wap)
            .d(bar.volume);
    });
}

/// Price fields of an order: TWS echoes unset limit/aux prices as 0.
fn price_or_zero(p: Option<f64>) -> f64 {
    p.filter(|v| v.is_finite()).unwrap_or(0.0)
}

/// Margin figures are strings in OrderState; unset is UNSET_DOUBLE's literal.
fn margin(w: &mut W<'_>, v: Option<f64>) {
    match v {
        Some(x) => w.f(x),
        None => w.s(UNSET_DOUBLE_STR),
    };
}

/// Shared tail of the combo-leg section of openOrder / completedOrder.
fn combo_legs(c: &Contract, o: &Order, w: &mut W<'_>) {
    w.s(&c.combo_legs_description).i(c.combo_legs.len() as i64);
    for leg in &c.combo_legs {
        w.i(leg.con_id)
            .i(leg.ratio)
            .s(&leg.action)
            .s(&leg.exchange)
            .i(0) // openClose
            .i(0) // shortSaleSlot
            .s("") // designatedLocation
            .i(-1); // exemptCode
    }
    w.i(o.order_combo_legs_prices.len() as i64);
    for p in &o.order_combo_legs_prices {
        w.fe(*p);
    }
    w.i(o.smart_combo_routing_params.len() as i64);
    for (tag, value) in &o.smart_combo_routing_params {
        w.s(tag).s(value);
    }
}

fn algo(o: &Order, w: &mut W<'_>) {
    w.s(&o.algo_strategy);
    if !o.algo_strategy.is_empty() {
        w.i(o.algo_params.len() as i64);
        for (tag, value) in &o.algo_params {
            w.s(tag).s(value);
        }
    }
}

fn is_peg_bench(o: &Order) -> bool {
    o.order_type == "PEG BENCH" || o.order_type == "PEGBENCH"
}

fn oca_type(o: &Order) -> i32 {
    if o.oca_type == 0 { 3 } else { o.oca_type }
}

/// openOrder (5), ~127 fields at v178 (no version field since v145).
fn open_order(v: i32, order_id: i32, c: &Contract, o: &Order, st: &OrderState, w: &mut W<'_>) {
    w.i(5).i(order_id);
    contract11(c, w);
    w.s(&o.action)
        .d(o.total_quantity)
        .s(&o.order_type)
        .f(price_or_zero(o.lmt_price))
        .f(price_or_zero(o.aux_price))
        .s(&o.tif)
        .s(&o.oca_group)
        .s(&o.account)
        .s("") // openClose
        .i(0) // origin
        .s(&o.order_ref)
        .i(o.client_id)
        .i(o.perm_id)
        .b(o.outside_rth)
        .b(o.hidden)
        .f(0.0) // discretionaryAmt
        .s(&o.good_after_time)
        .s("") // sharesAllocation (deprecated)
        .s("") // faGroup
        .s("") // faMethod
        .s(""); // faPercentage
    if v < 177 {
        w.s(""); // faProfile
    }
    w.s("") // modelCode
        .s(&o.good_till_date)
        .s("") // rule80A
        .s("") // percentOffset
        .s("") // settlingFirm
        .i(0) // shortSaleSlot
        .s("") // designatedLocation
        .i(-1) // exemptCode
        .i(0) // auctionStrategy
        .s("") // startingPrice
        .s("") // stockRefPrice
        .s("") // delta
        .s("") // stockRangeLower
        .s("") // stockRangeUpper
        .s("") // displaySize
        .b(false) // blockOrder
        .b(false) // sweepToFill
        .b(o.all_or_none)
        .ie(o.min_qty)
        .i(oca_type(o))
        .b(false) // eTradeOnly
        .b(false) // firmQuoteOnly
        .s("") // nbboPriceCap
        .i(o.parent_id)
        .i(0) // triggerMethod
        .s("") // volatility
        .i(0) // volatilityType
        .s("") // deltaNeutralOrderType
        .s("") // deltaNeutralAuxPrice
        .b(false) // continuousUpdate
        .i(0) // referencePriceType
        .fe(o.trail_stop_price)
        .fe(o.trailing_percent)
        .s("") // basisPoints
        .s(""); // basisPointsType
    combo_legs(c, o, w);
    w.s("") // scaleInitLevelSize
        .s("") // scaleSubsLevelSize
        .s("") // scalePriceIncrement
        .s("") // hedgeType
        .b(false) // optOutSmartRouting
        .s("") // clearingAccount
        .s("IB") // clearingIntent
        .b(false) // notHeld
        .b(false); // deltaNeutralContract present
    algo(o, w);
    w.b(false) // solicited
        .b(o.what_if)
        .s(&st.status);
    for m in [
        st.init_margin_before,
        st.maint_margin_before,
        st.equity_with_loan_before,
        st.init_margin_change,
        st.maint_margin_change,
        st.equity_with_loan_change,
        st.init_margin_after,
        st.maint_margin_after,
        st.equity_with_loan_after,
    ] {
        margin(w, m);
    }
    w.fo(st.commission)
        .fo(st.min_commission)
        .fo(st.max_commission)
        .s(&st.commission_currency)
        .s(&st.warning_text)
        .b(false) // randomizeSize
        .b(false); // randomizePrice
    if is_peg_bench(o) {
        w.i(0).b(false).f(0.0).f(0.0).s("");
    }
    w.i(0) // conditions
        .s("") // adjustedOrderType
        .s("") // triggerPrice
        .fe(o.trail_stop_price)
        .s("") // lmtPriceOffset
        .s("") // adjustedStopPrice
        .s("") // adjustedStopLimitPrice
        .s("") // adjustedTrailingAmount
        .i(0) // adjustableTrailingUnit
        .s("") // softDollarTier.name
        .s("") // softDollarTier.val
        .s("") // softDollarTier.displayName
        .s("") // cashQty
        .b(false) // dontUseAutoPriceForHedge
        .b(false) // isOmsContainer
        .b(false) // discretionaryUpToLimitPrice
        .b(false); // usePriceMgmtAlgo
    if v >= 159 {
        w.s(""); // duration
    }
    if v >= 160 {
        w.s(""); // postToAts
    }
    if v >= 162 {
        w.b(false); // autoCancelParent
    }
    if v >= 170 {
        w.empty(5); // minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole/Half
    }
}

/// completedOrder (101).
fn completed_order(v: i32, c: &Contract, o: &Order, st: &OrderState, w: &mut W<'_>) {
    w.i(101);
    contract11(c, w);
    w.s(&o.action)
        .d(o.total_quantity)
        .s(&o.order_type)
        .f(price_or_zero(o.lmt_price))
        .f(price_or_zero(o.aux_price))
        .s(&o.tif)
        .s(&o.oca_group)
        .s(&o.account)
        .s("") // openClose
        .i(0) // origin
        .s(&o.order_ref)
        .i(o.perm_id)
        .b(o.outside_rth)
        .b(o.hidden)
        .f(0.0) // discretionaryAmt
        .s(&o.good_after_time)
        .s("") // faGroup
        .s("") // faMethod
        .s(""); // faPercentage
    if v < 177 {
        w.s(""); // faProfile
    }
    w.s("") // modelCode
        .s(&o.good_till_date)
        .s("") // rule80A
        .s("") // percentOffset
        .s("") // settlingFirm
        .i(0) // shortSaleSlot
        .s("") // designatedLocation
        .i(-1) // exemptCode
        .s("") // startingPrice
        .s("") // stockRefPrice
        .s("") // delta
        .s("") // stockRangeLower
        .s("") // stockRangeUpper
        .s("") // displaySize
        .b(false) // sweepToFill
        .b(o.all_or_none)
        .ie(o.min_qty)
        .i(oca_type(o))
        .i(0) // triggerMethod
        .s("") // volatility
        .i(0) // volatilityType
        .s("") // deltaNeutralOrderType
        .s("") // deltaNeutralAuxPrice
        .b(false) // continuousUpdate
        .i(0) // referencePriceType
        .fe(o.trail_stop_price)
        .fe(o.trailing_percent);
    combo_legs(c, o, w);
    w.s("") // scaleInitLevelSize
        .s("") // scaleSubsLevelSize
        .s("") // scalePriceIncrement
        .s("") // hedgeType
        .s("") // clearingAccount
        .s("IB") // clearingIntent
        .b(false) // notHeld
        .b(false); // deltaNeutralContract present
    algo(o, w);
    w.b(false) // solicited
        .s(&st.status)
        .b(false) // randomizeSize
        .b(false); // randomizePrice
    if is_peg_bench(o) {
        w.i(0).b(false).f(0.0).f(0.0).s("");
    }
    w.i(0) // conditions
        .fe(o.trail_stop_price)
        .s("") // lmtPriceOffset
        .s("") // cashQty
        .b(false) // dontUseAutoPriceForHedge
        .b(false) // isOmsContainer
        .s("") // autoCancelDate
        .d(o.filled_quantity)
        .i(0) // refFuturesConId
        .b(false) // autoCancelParent
        .s("") // shareholder
        .b(false) // imbalanceOnly
        .b(false) // routeMarketableToBbo
        .i(0) // parentPermId
        .s(&st.completed_time)
        .s(&st.completed_status);
    if v >= 170 {
        w.empty(5);
    }
}
