//! Conversions between ibapi's types and the adapter's records.

use ibapi::contracts::{Contract, Currency, Exchange, OptionRight, SecurityType, Symbol};

use super::types::*;
use super::{BrokerError, BrokerResult};

fn upper(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// Build an ibapi contract from a spec; `prefix` names the argument in errors.
pub(crate) fn to_contract(spec: &ContractSpec) -> BrokerResult<Contract> {
    let symbol = spec.symbol.trim();
    if symbol.is_empty() && spec.con_id == 0 {
        return Err(BrokerError::invalid("symbol", "must not be empty"));
    }
    let sec_type = upper(&spec.sec_type);
    if sec_type.is_empty() {
        return Err(BrokerError::invalid("secType", "must not be empty"));
    }
    if !sec_type.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(BrokerError::invalid(
            "secType",
            format!(
                "{:?} is not a security type (STK, OPT, FUT, CASH, IND, ...)",
                spec.sec_type
            ),
        ));
    }
    let right = match upper(&spec.right).as_str() {
        "" => None,
        "C" | "CALL" => Some(OptionRight::Call),
        "P" | "PUT" => Some(OptionRight::Put),
        other => {
            return Err(BrokerError::invalid(
                "right",
                format!("{other:?} is not C or P"),
            ));
        }
    };
    Ok(Contract {
        contract_id: spec.con_id,
        symbol: Symbol(upper(symbol)),
        security_type: sec_type
            .parse::<SecurityType>()
            .unwrap_or(SecurityType::Other(sec_type)),
        exchange: Exchange(upper(&spec.exchange)),
        currency: Currency(upper(&spec.currency)),
        primary_exchange: Exchange(upper(&spec.primary_exchange)),
        last_trade_date_or_contract_month: spec
            .last_trade_date_or_contract_month
            .trim()
            .to_string(),
        strike: spec.strike,
        right,
        multiplier: spec.multiplier.trim().to_string(),
        ..Contract::default()
    })
}

pub(crate) fn contract_ref(c: &Contract) -> ContractRef {
    ContractRef {
        con_id: c.contract_id,
        symbol: c.symbol.0.clone(),
        sec_type: c.security_type.to_string(),
        exchange: c.exchange.0.clone(),
        primary_exchange: c.primary_exchange.0.clone(),
        currency: c.currency.0.clone(),
        local_symbol: c.local_symbol.clone(),
        trading_class: c.trading_class.clone(),
        last_trade_date_or_contract_month: c.last_trade_date_or_contract_month.clone(),
        strike: c.strike,
        right: c.right.map(|r| r.to_string()).unwrap_or_default(),
        multiplier: c.multiplier.clone(),
    }
}

pub(crate) fn contract_info(d: &ibapi::contracts::ContractDetails) -> ContractInfo {
    let c = &d.contract;
    ContractInfo {
        con_id: c.contract_id,
        symbol: c.symbol.0.clone(),
        sec_type: c.security_type.to_string(),
        exchange: c.exchange.0.clone(),
        primary_exchange: c.primary_exchange.0.clone(),
        currency: c.currency.0.clone(),
        local_symbol: c.local_symbol.clone(),
        trading_class: c.trading_class.clone(),
        long_name: d.long_name.clone(),
        industry: d.industry.clone(),
        category: d.category.clone(),
        subcategory: d.subcategory.clone(),
        market_name: d.market_name.clone(),
        min_tick: d.min_tick,
        multiplier: c.multiplier.clone(),
        last_trade_date_or_contract_month: c.last_trade_date_or_contract_month.clone(),
        strike: c.strike,
        right: c.right.map(|r| r.to_string()).unwrap_or_default(),
        time_zone_id: d.time_zone_id.clone(),
        order_types: d.order_types.clone(),
        valid_exchanges: d.valid_exchanges.clone(),
    }
}

pub(crate) fn bar(b: &ibapi::market_data::historical::Bar) -> Bar {
    use ibapi::market_data::historical::BarTimestamp;
    let date = match b.date {
        BarTimestamp::Date(d) => {
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        }
        BarTimestamp::DateTime(dt) => dt
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| dt.unix_timestamp().to_string()),
    };
    Bar {
        date,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        wap: b.wap,
        count: b.count,
    }
}

pub(crate) fn market_data_type(t: &ibapi::market_data::MarketDataType) -> String {
    use ibapi::market_data::MarketDataType as M;
    match t {
        M::Realtime => "real-time",
        M::Frozen => "frozen",
        M::Delayed => "delayed",
        M::DelayedFrozen => "delayed-frozen",
        _ => "unknown",
    }
    .to_string()
}

pub(crate) fn quote(symbol: &str, q: &ibapi::market_data::realtime::Quote) -> Quote {
    Quote {
        symbol: symbol.to_string(),
        bid: q.bid,
        ask: q.ask,
        last: q.last,
        open: q.open,
        high: q.high,
        low: q.low,
        close: q.close,
        bid_size: q.bid_size,
        ask_size: q.ask_size,
        last_size: q.last_size,
        volume: q.volume,
        market_data_type: q.market_data_type.as_ref().map(market_data_type),
        time: chrono::Utc::now().to_rfc3339(),
    }
}

pub(crate) fn order_status(s: &ibapi::orders::OrderStatus) -> OrderStatus {
    OrderStatus {
        order_id: s.order_id,
        status: s.status.to_string(),
        filled: s.filled,
        remaining: s.remaining,
        avg_fill_price: s.average_fill_price,
        last_fill_price: s.last_fill_price,
        perm_id: s.perm_id,
        parent_id: s.parent_id,
        client_id: s.client_id,
        why_held: s.why_held.clone(),
    }
}

pub(crate) fn open_order(d: &ibapi::orders::OrderData) -> OpenOrder {
    let o = &d.order;
    OpenOrder {
        order_id: d.order_id,
        client_id: o.client_id,
        perm_id: o.perm_id,
        contract: contract_ref(&d.contract),
        action: o.action.to_string(),
        total_quantity: o.total_quantity,
        order_type: o.order_type.clone(),
        lmt_price: o.limit_price,
        aux_price: o.aux_price,
        tif: o.tif.to_string(),
        account: o.account.clone(),
        order_ref: o.order_ref.clone(),
        status: d.order_state.status.to_string(),
        filled: o.filled_quantity,
        remaining: (o.total_quantity - o.filled_quantity).max(0.0),
    }
}

pub(crate) fn execution(d: &ibapi::orders::ExecutionData) -> Execution {
    let e = &d.execution;
    Execution {
        exec_id: e.execution_id.clone(),
        order_id: e.order_id,
        client_id: e.client_id,
        perm_id: e.perm_id,
        time: e.time.clone(),
        account: e.account_number.clone(),
        exchange: e.exchange.clone(),
        side: e.side.as_str().to_string(),
        shares: e.shares,
        price: e.price,
        cum_qty: e.cumulative_quantity,
        avg_price: e.average_price,
        order_ref: e.order_reference.clone(),
        contract: contract_ref(&d.contract),
        commission: None,
        commission_currency: None,
        realized_pnl: None,
    }
}
