//! [`PluginBackend`] over the host's one broker adapter ([`crate::broker::Broker`]):
//! maps WIT records to the broker's typed records and back. Orders go through
//! `Broker::place_order` / `place_bracket` / `modify_order` / `cancel_order` (validation,
//! guardrails, audit) and what-if previews through `Broker::preview_order`, with origin
//! `plugin:<name>`.

use futures::future::BoxFuture;

use super::backend::{ApiResult, Origin, PluginBackend};
use super::bindings::types as w;
use crate::broker::{self as b, Broker, BrokerError};

/// The host's broker as seen by plugins.
#[derive(Clone, Debug)]
pub struct BrokerBackend {
    broker: Broker,
}

impl BrokerBackend {
    /// Wrap the broker.
    pub fn new(broker: Broker) -> Self {
        BrokerBackend { broker }
    }
}

/// Broker error -> WIT error.
pub fn api_error(e: BrokerError) -> w::Error {
    match e {
        BrokerError::NotConnected { .. } | BrokerError::ConnectFailed { .. } => {
            w::Error::NotConnected
        }
        BrokerError::Timeout { .. } => w::Error::Timeout,
        BrokerError::Tws { code, message } => {
            w::Error::BrokerError(w::BrokerError { code, message })
        }
        BrokerError::InvalidArgument { arg, reason } => {
            w::Error::InvalidArgument(format!("{arg}: {reason}"))
        }
        BrokerError::Guardrail { rule, reason } => {
            w::Error::GuardrailViolation(format!("{rule}: {reason}"))
        }
        BrokerError::Cancelled => w::Error::Cancelled,
        BrokerError::NotFound(m) => w::Error::InvalidArgument(format!("not found: {m}")),
        other => w::Error::Failed(other.to_string()),
    }
}

fn unsupported<T>(what: &str) -> ApiResult<T> {
    Err(w::Error::Failed(format!(
        "{what} is not supported by this host's broker adapter yet"
    )))
}

fn sec_type_str(s: w::SecType) -> &'static str {
    use w::SecType::*;
    match s {
        Stock => "STK",
        Option => "OPT",
        Future => "FUT",
        FutureOption => "FOP",
        Forex => "CASH",
        Index => "IND",
        Combo => "BAG",
        Cfd => "CFD",
        Bond => "BOND",
        Commodity => "CMDTY",
        Fund => "FUND",
        Warrant => "WAR",
    }
}

fn sec_type_from(s: &str) -> w::SecType {
    use w::SecType::*;
    match s {
        "OPT" => Option,
        "FUT" => Future,
        "FOP" => FutureOption,
        "CASH" => Forex,
        "IND" => Index,
        "BAG" => Combo,
        "CFD" => Cfd,
        "BOND" => Bond,
        "CMDTY" => Commodity,
        "FUND" => Fund,
        "WAR" => Warrant,
        _ => Stock,
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn right_from(s: &str) -> Option<w::OptionRight> {
    match s {
        "C" | "CALL" => Some(w::OptionRight::Call),
        "P" | "PUT" => Some(w::OptionRight::Put),
        _ => None,
    }
}

/// WIT contract -> broker contract spec.
pub fn spec(c: &w::Contract) -> Result<b::ContractSpec, w::Error> {
    if c.sec_type == w::SecType::Combo {
        return Err(w::Error::InvalidArgument(
            "contract: combo (BAG) contracts are not supported by this host yet".into(),
        ));
    }
    let con_id = i32::try_from(c.con_id).map_err(|_| {
        w::Error::InvalidArgument(format!("contract.con-id {} out of range", c.con_id))
    })?;
    Ok(b::ContractSpec {
        symbol: c.symbol.clone(),
        sec_type: sec_type_str(c.sec_type).into(),
        exchange: c.exchange.clone(),
        currency: c.currency.clone(),
        con_id,
        primary_exchange: c.primary_exchange.clone().unwrap_or_default(),
        last_trade_date_or_contract_month: c.last_trade_date.clone().unwrap_or_default(),
        strike: c.strike.unwrap_or(0.0),
        right: match c.right {
            Some(w::OptionRight::Call) => "C".into(),
            Some(w::OptionRight::Put) => "P".into(),
            None => String::new(),
        },
        multiplier: c.multiplier.clone().unwrap_or_default(),
    })
}

fn contract_from_ref(r: &b::ContractRef) -> w::Contract {
    w::Contract {
        con_id: r.con_id as i64,
        symbol: r.symbol.clone(),
        sec_type: sec_type_from(&r.sec_type),
        exchange: r.exchange.clone(),
        primary_exchange: opt(&r.primary_exchange),
        currency: r.currency.clone(),
        last_trade_date: opt(&r.last_trade_date_or_contract_month),
        strike: (r.strike != 0.0).then_some(r.strike),
        right: right_from(&r.right),
        multiplier: opt(&r.multiplier),
        local_symbol: opt(&r.local_symbol),
        trading_class: opt(&r.trading_class),
        combo_legs: Vec::new(),
    }
}

fn bar_size_str(b: w::BarSize) -> &'static str {
    use w::BarSize::*;
    match b {
        Sec1 => "1 secs",
        Sec5 => "5 secs",
        Sec15 => "15 secs",
        Sec30 => "30 secs",
        Min1 => "1 min",
        Min2 => "2 mins",
        Min5 => "5 mins",
        Min15 => "15 mins",
        Min30 => "30 mins",
        Hour1 => "1 hour",
        Hour4 => "4 hours",
        Day1 => "1 day",
        Week1 => "1 week",
        Month1 => "1 month",
    }
}

fn what_str(x: w::WhatToShow) -> &'static str {
    use w::WhatToShow::*;
    match x {
        Trades => "TRADES",
        Midpoint => "MIDPOINT",
        Bid => "BID",
        Ask => "ASK",
        BidAsk => "BID_ASK",
        AdjustedLast => "ADJUSTED_LAST",
    }
}

fn duration_str(d: w::Duration) -> String {
    match d {
        w::Duration::Seconds(n) => format!("{n} S"),
        w::Duration::Days(n) => format!("{n} D"),
        w::Duration::Weeks(n) => format!("{n} W"),
        w::Duration::Months(n) => format!("{n} M"),
        w::Duration::Years(n) => format!("{n} Y"),
    }
}

/// Parse a bar date (`YYYY-MM-DD`, `YYYYMMDD` or RFC 3339) into unix seconds.
fn bar_time(s: &str) -> i64 {
    use chrono::{DateTime, NaiveDate};
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.timestamp();
    }
    for f in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp())
                .unwrap_or(0);
        }
    }
    s.parse().unwrap_or(0)
}

fn parse_f(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

fn order_type_str(t: w::OrderType) -> &'static str {
    use w::OrderType::*;
    match t {
        Market => "MKT",
        Limit => "LMT",
        Stop => "STP",
        StopLimit => "STP LMT",
        TrailingStop => "TRAIL",
        MarketOnClose => "MOC",
        LimitOnClose => "LOC",
    }
}

fn tif_str(t: w::TimeInForce) -> &'static str {
    use w::TimeInForce::*;
    match t {
        Day => "DAY",
        Gtc => "GTC",
        Ioc => "IOC",
        Fok => "FOK",
        Opg => "OPG",
    }
}

fn order_request(c: &w::Contract, o: &w::Order) -> Result<b::OrderRequest, w::Error> {
    if o.order_type == w::OrderType::TrailingStop {
        return Err(w::Error::InvalidArgument(
            "order.order-type: trailing-stop is not supported by this host yet".into(),
        ));
    }
    Ok(b::OrderRequest {
        contract: spec(c)?,
        action: match o.action {
            w::Action::Buy => b::Side::Buy,
            w::Action::Sell => b::Side::Sell,
        },
        total_quantity: o.quantity,
        order_type: order_type_str(o.order_type).into(),
        lmt_price: o.limit_price,
        aux_price: o.stop_price,
        tif: tif_str(o.tif).into(),
        account: o.account.clone().unwrap_or_default(),
        order_ref: o.order_ref.clone().unwrap_or_default(),
    })
}

fn order_state(s: &str) -> w::OrderState {
    use w::OrderState::*;
    match s {
        "PendingSubmit" | "ApiPending" => PendingSubmit,
        "PreSubmitted" => PreSubmitted,
        "Submitted" => Submitted,
        "Filled" => Filled,
        "PendingCancel" => PendingCancel,
        "Cancelled" | "ApiCancelled" => Cancelled,
        "Inactive" => Inactive,
        _ => Unknown,
    }
}

fn status(s: b::OrderStatus) -> w::OrderStatus {
    w::OrderStatus {
        order_id: s.order_id,
        state: order_state(&s.status),
        filled: s.filled,
        remaining: s.remaining,
        avg_fill_price: s.avg_fill_price.unwrap_or(0.0),
        message: opt(&s.why_held),
    }
}

fn origin(o: &Origin) -> b::OrderOrigin {
    b::OrderOrigin::Plugin {
        name: o.plugin.to_string(),
    }
}

fn summary(account: Option<String>, values: Vec<b::AccountValue>) -> w::AccountSummary {
    let account = account
        .or_else(|| values.first().map(|v| v.account.clone()))
        .unwrap_or_default();
    let mine: Vec<&b::AccountValue> = values.iter().filter(|v| v.account == account).collect();
    let get = |tag: &str| {
        mine.iter()
            .find(|v| v.tag == tag)
            .and_then(|v| parse_f(&v.value))
    };
    let currency = mine
        .iter()
        .find(|v| v.tag == "NetLiquidation")
        .map(|v| v.currency.clone())
        .unwrap_or_else(|| "USD".into());
    w::AccountSummary {
        net_liquidation: get("NetLiquidation"),
        total_cash: get("TotalCashValue"),
        buying_power: get("BuyingPower"),
        available_funds: get("AvailableFunds"),
        excess_liquidity: get("ExcessLiquidity"),
        gross_position_value: get("GrossPositionValue"),
        init_margin: get("InitMarginReq"),
        maint_margin: get("MaintMarginReq"),
        values: mine
            .iter()
            .map(|v| w::AccountValue {
                tag: v.tag.clone(),
                value: v.value.clone(),
                currency: v.currency.clone(),
            })
            .collect(),
        account,
        currency,
    }
}

impl PluginBackend for BrokerBackend {
    fn quote(&self, contract: w::Contract) -> BoxFuture<'_, ApiResult<w::Quote>> {
        Box::pin(async move {
            let q = self
                .broker
                .quote(&spec(&contract)?)
                .await
                .map_err(api_error)?;
            Ok(w::Quote {
                contract,
                bid: q.bid,
                ask: q.ask,
                last: q.last,
                close: q.close,
                bid_size: q.bid_size,
                ask_size: q.ask_size,
                volume: q.volume,
                timestamp_ms: chrono::DateTime::parse_from_rfc3339(&q.time)
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(|_| chrono::Utc::now().timestamp_millis()),
            })
        })
    }

    fn bars(&self, r: w::BarsRequest) -> BoxFuture<'_, ApiResult<Vec<w::Bar>>> {
        Box::pin(async move {
            if r.end.is_some() {
                return unsupported("bars-request.end");
            }
            let req = b::HistoricalRequest {
                contract: spec(&r.contract)?,
                duration_str: duration_str(r.duration),
                bar_size_setting: bar_size_str(r.bar_size).into(),
                what_to_show: what_str(r.what_to_show).into(),
                use_rth: r.use_rth,
            };
            let bars = self.broker.historical_bars(&req).await.map_err(api_error)?;
            Ok(bars
                .into_iter()
                .map(|x| w::Bar {
                    time: bar_time(&x.date),
                    open: x.open,
                    high: x.high,
                    low: x.low,
                    close: x.close,
                    volume: x.volume,
                    wap: x.wap,
                    count: x.count,
                })
                .collect())
        })
    }

    fn contract_details(
        &self,
        contract: w::Contract,
    ) -> BoxFuture<'_, ApiResult<Vec<w::ContractDetails>>> {
        Box::pin(async move {
            let list = self
                .broker
                .contract_details(&spec(&contract)?)
                .await
                .map_err(api_error)?;
            Ok(list
                .into_iter()
                .map(|i| w::ContractDetails {
                    contract: w::Contract {
                        con_id: i.con_id as i64,
                        symbol: i.symbol.clone(),
                        sec_type: sec_type_from(&i.sec_type),
                        exchange: i.exchange.clone(),
                        primary_exchange: opt(&i.primary_exchange),
                        currency: i.currency.clone(),
                        last_trade_date: opt(&i.last_trade_date_or_contract_month),
                        strike: (i.strike != 0.0).then_some(i.strike),
                        right: right_from(&i.right),
                        multiplier: opt(&i.multiplier),
                        local_symbol: opt(&i.local_symbol),
                        trading_class: opt(&i.trading_class),
                        combo_legs: Vec::new(),
                    },
                    long_name: i.long_name,
                    min_tick: i.min_tick,
                    industry: i.industry,
                    category: i.category,
                    time_zone: i.time_zone_id,
                    trading_hours: String::new(),
                })
                .collect())
        })
    }

    fn option_chain(
        &self,
        underlying: w::Contract,
    ) -> BoxFuture<'_, ApiResult<Vec<w::OptionChain>>> {
        Box::pin(async move {
            let chains = self
                .broker
                .option_chain(&spec(&underlying)?)
                .await
                .map_err(api_error)?;
            Ok(chains
                .into_iter()
                .map(|c| w::OptionChain {
                    underlying_con_id: c.underlying_con_id as i64,
                    exchange: c.exchange,
                    trading_class: c.trading_class,
                    multiplier: c.multiplier,
                    expirations: c.expirations,
                    strikes: c.strikes,
                })
                .collect())
        })
    }

    fn accounts(&self) -> BoxFuture<'_, ApiResult<Vec<String>>> {
        Box::pin(async move { self.broker.accounts().map_err(api_error) })
    }

    fn account_summary(
        &self,
        account: Option<String>,
    ) -> BoxFuture<'_, ApiResult<w::AccountSummary>> {
        Box::pin(async move {
            let account = match account {
                Some(a) => Some(a),
                None => self.broker.default_account().ok(),
            };
            let values = self.broker.account_summary().await.map_err(api_error)?;
            Ok(summary(account, values))
        })
    }

    fn positions(&self, account: Option<String>) -> BoxFuture<'_, ApiResult<Vec<w::Position>>> {
        Box::pin(async move {
            let all = self.broker.positions().await.map_err(api_error)?;
            Ok(all
                .into_iter()
                .filter(|p| account.as_ref().is_none_or(|a| *a == p.account))
                .map(|p| w::Position {
                    account: p.account,
                    contract: contract_from_ref(&p.contract),
                    quantity: p.position,
                    avg_cost: p.avg_cost,
                    market_price: None,
                    market_value: None,
                    unrealized_pnl: None,
                    realized_pnl: None,
                })
                .collect())
        })
    }

    fn pnl(&self, account: Option<String>) -> BoxFuture<'_, ApiResult<w::Pnl>> {
        Box::pin(async move {
            let account = match account {
                Some(a) => a,
                None => self.broker.default_account().map_err(api_error)?,
            };
            let p = self.broker.pnl(&account, "").await.map_err(api_error)?;
            Ok(w::Pnl {
                account: p.account,
                daily: Some(p.daily_pnl),
                unrealized: p.unrealized_pnl,
                realized: p.realized_pnl,
            })
        })
    }

    fn pnl_single(
        &self,
        account: Option<String>,
        con_id: i64,
    ) -> BoxFuture<'_, ApiResult<w::PnlSingle>> {
        Box::pin(async move {
            let account = match account {
                Some(a) => a,
                None => self.broker.default_account().map_err(api_error)?,
            };
            let con_id = i32::try_from(con_id)
                .map_err(|_| w::Error::InvalidArgument(format!("con-id {con_id} out of range")))?;
            let p = self
                .broker
                .pnl_single(&account, "", con_id)
                .await
                .map_err(api_error)?;
            Ok(w::PnlSingle {
                account: p.account,
                con_id: p.con_id as i64,
                position: p.position,
                daily: Some(p.daily_pnl),
                unrealized: Some(p.unrealized_pnl),
                realized: Some(p.realized_pnl),
                value: Some(p.value),
            })
        })
    }

    fn preview_order(
        &self,
        o: Origin,
        contract: w::Contract,
        order: w::Order,
    ) -> BoxFuture<'_, ApiResult<w::OrderPreview>> {
        Box::pin(async move {
            let req = order_request(&contract, &order)?;
            let p = self
                .broker
                .preview_order(&req, &origin(&o))
                .await
                .map_err(api_error)?;
            Ok(w::OrderPreview {
                init_margin_change: p.init_margin_change,
                maint_margin_change: p.maint_margin_change,
                equity_with_loan_change: p.equity_with_loan_change,
                commission: p.commission,
                min_commission: p.min_commission,
                max_commission: p.max_commission,
                commission_currency: opt(&p.commission_currency),
                warning: opt(&p.warning_text),
            })
        })
    }

    fn place_order(
        &self,
        o: Origin,
        contract: w::Contract,
        order: w::Order,
    ) -> BoxFuture<'_, ApiResult<w::OrderStatus>> {
        Box::pin(async move {
            let req = order_request(&contract, &order)?;
            let s = self
                .broker
                .place_order(&req, &origin(&o))
                .await
                .map_err(api_error)?;
            Ok(status(s))
        })
    }

    fn place_bracket(
        &self,
        o: Origin,
        r: w::BracketRequest,
        account: Option<String>,
    ) -> BoxFuture<'_, ApiResult<w::BracketStatus>> {
        Box::pin(async move {
            let req = b::BracketRequest {
                contract: spec(&r.contract)?,
                action: match r.action {
                    w::Action::Buy => b::Side::Buy,
                    w::Action::Sell => b::Side::Sell,
                },
                total_quantity: r.quantity,
                entry_price: r.entry_price,
                take_profit: r.take_profit,
                stop_loss: r.stop_loss,
                tif: tif_str(r.tif).into(),
                account: account.unwrap_or_default(),
                order_ref: r.order_ref.unwrap_or_default(),
            };
            let s = self
                .broker
                .place_bracket(&req, &origin(&o))
                .await
                .map_err(api_error)?;
            Ok(w::BracketStatus {
                parent: status(s.parent),
                take_profit: status(s.take_profit),
                stop_loss: status(s.stop_loss),
            })
        })
    }

    fn modify_order(
        &self,
        o: Origin,
        order_id: i32,
        changes: w::OrderModification,
    ) -> BoxFuture<'_, ApiResult<w::OrderStatus>> {
        Box::pin(async move {
            let changes = b::OrderChanges {
                total_quantity: changes.quantity,
                lmt_price: changes.limit_price,
                aux_price: changes.stop_price,
            };
            let s = self
                .broker
                .modify_order(order_id, &changes, &origin(&o))
                .await
                .map_err(api_error)?;
            Ok(status(s))
        })
    }

    fn cancel_order(&self, o: Origin, order_id: i32) -> BoxFuture<'_, ApiResult<w::OrderStatus>> {
        Box::pin(async move {
            let s = self
                .broker
                .cancel_order(order_id, &origin(&o))
                .await
                .map_err(api_error)?;
            Ok(status(s))
        })
    }

    fn open_orders(&self) -> BoxFuture<'_, ApiResult<Vec<w::OpenOrder>>> {
        Box::pin(async move {
            let list = self.broker.open_orders().await.map_err(api_error)?;
            Ok(list
                .into_iter()
                .map(|o| {
                    let contract = contract_from_ref(&o.contract);
                    let action = if o.action.eq_ignore_ascii_case("SELL") {
                        w::Action::Sell
                    } else {
                        w::Action::Buy
                    };
                    let order_type = match o.order_type.as_str() {
                        "LMT" => w::OrderType::Limit,
                        "STP" => w::OrderType::Stop,
                        "STP LMT" => w::OrderType::StopLimit,
                        "TRAIL" => w::OrderType::TrailingStop,
                        "MOC" => w::OrderType::MarketOnClose,
                        "LOC" => w::OrderType::LimitOnClose,
                        _ => w::OrderType::Market,
                    };
                    let tif = match o.tif.as_str() {
                        "GTC" => w::TimeInForce::Gtc,
                        "IOC" => w::TimeInForce::Ioc,
                        "FOK" => w::TimeInForce::Fok,
                        "OPG" => w::TimeInForce::Opg,
                        _ => w::TimeInForce::Day,
                    };
                    w::OpenOrder {
                        order_id: o.order_id,
                        contract,
                        order: w::Order {
                            action,
                            quantity: o.total_quantity,
                            order_type,
                            limit_price: o.lmt_price,
                            stop_price: o.aux_price,
                            trailing_percent: None,
                            tif,
                            outside_rth: false,
                            account: opt(&o.account),
                            order_ref: opt(&o.order_ref),
                        },
                        status: w::OrderStatus {
                            order_id: o.order_id,
                            state: order_state(&o.status),
                            filled: o.filled,
                            remaining: o.remaining,
                            avg_fill_price: 0.0,
                            message: None,
                        },
                    }
                })
                .collect())
        })
    }

    fn executions(&self, f: w::ExecutionFilter) -> BoxFuture<'_, ApiResult<Vec<w::Execution>>> {
        Box::pin(async move {
            let q = b::ExecutionQuery {
                symbol: f.symbol.clone().unwrap_or_default(),
                sec_type: f.sec_type.map(sec_type_str).unwrap_or_default().into(),
                ..Default::default()
            };
            let list = self.broker.executions(&q).await.map_err(api_error)?;
            Ok(list
                .into_iter()
                .filter(|e| {
                    f.since
                        .as_ref()
                        .is_none_or(|s| e.time.as_str() >= s.as_str())
                })
                .map(|e| w::Execution {
                    exec_id: e.exec_id,
                    order_id: e.order_id,
                    account: e.account,
                    contract: contract_from_ref(&e.contract),
                    side: if e.side == "SLD" || e.side.eq_ignore_ascii_case("SELL") {
                        w::Action::Sell
                    } else {
                        w::Action::Buy
                    },
                    shares: e.shares,
                    price: e.price,
                    time: e.time,
                    commission: e.commission,
                    realized_pnl: e.realized_pnl,
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_round_trip_to_broker_specs() {
        let c = w::Contract {
            con_id: 0,
            symbol: "AAPL".into(),
            sec_type: w::SecType::Option,
            exchange: "SMART".into(),
            primary_exchange: None,
            currency: "USD".into(),
            last_trade_date: Some("20270115".into()),
            strike: Some(200.0),
            right: Some(w::OptionRight::Put),
            multiplier: Some("100".into()),
            local_symbol: None,
            trading_class: None,
            combo_legs: vec![],
        };
        let s = spec(&c).unwrap();
        assert_eq!(s.sec_type, "OPT");
        assert_eq!(s.right, "P");
        assert_eq!(s.last_trade_date_or_contract_month, "20270115");
        assert_eq!(sec_type_from(&s.sec_type), w::SecType::Option);
    }

    #[test]
    fn errors_map_to_the_wit_variant() {
        let e = api_error(BrokerError::Tws {
            code: 200,
            message: "no def".into(),
        });
        assert!(matches!(e, w::Error::BrokerError(b) if b.code == 200 && b.message == "no def"));
        let e = api_error(BrokerError::Guardrail {
            rule: "max".into(),
            reason: "big".into(),
        });
        assert!(matches!(e, w::Error::GuardrailViolation(m) if m.contains("max")));
        assert!(matches!(
            api_error(BrokerError::Cancelled),
            w::Error::Cancelled
        ));
    }

    #[test]
    fn bar_dates_parse() {
        assert_eq!(bar_time("1970-01-02"), 86_400);
        assert_eq!(bar_time("19700102"), 86_400);
        assert_eq!(bar_time("1970-01-01T00:01:00Z"), 60);
    }

    #[test]
    fn account_summary_picks_typed_fields() {
        let v = |tag: &str, value: &str| b::AccountValue {
            account: "DU1".into(),
            tag: tag.into(),
            value: value.into(),
            currency: "USD".into(),
        };
        let s = summary(
            None,
            vec![v("NetLiquidation", "100000.5"), v("TotalCashValue", "2500")],
        );
        assert_eq!(s.account, "DU1");
        assert_eq!(s.net_liquidation, Some(100000.5));
        assert_eq!(s.total_cash, Some(2500.0));
        assert_eq!(s.values.len(), 2);
    }
}
