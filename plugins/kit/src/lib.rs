//! Helpers shared by the bundled plugins: reading live data through the host API in the shapes
//! the `quant` crate wants, converting errors, and rendering markdown.

use ibkr_plugin_sdk::prelude::*;
use ibkr_plugin_sdk::{Position, Quote};
use quant::QuantError;
use quant::indicators::Ohlc;

/// Converts an analytics error into the WIT error.
pub fn q_err(e: QuantError) -> Error {
    match e {
        QuantError::InvalidInput(m) => Error::InvalidArgument(m),
        other => Error::Failed(other.to_string()),
    }
}

/// Best price of a quote: last, else mid of bid/ask, else the previous close.
pub fn quote_price(q: &Quote) -> Option<f64> {
    let pos = |x: Option<f64>| x.filter(|v| v.is_finite() && *v > 0.0);
    pos(q.last)
        .or_else(|| match (pos(q.bid), pos(q.ask)) {
            (Some(b), Some(a)) => Some((a + b) / 2.0),
            _ => None,
        })
        .or_else(|| pos(q.close))
}

/// Live price of a stock; `failed` when the quote has no usable price.
pub fn stock_price(symbol: &str) -> Result<f64, Error> {
    let q = market_data::quote(&Contract::stock(symbol))?;
    quote_price(&q).ok_or_else(|| Error::failed(format!("no price available for {symbol}")))
}

/// Daily bars of a stock over the last `days` calendar days.
pub fn daily_bars(symbol: &str, days: u32) -> Result<Vec<Bar>, Error> {
    let bars = market_data::daily_bars(&Contract::stock(symbol), days)?;
    if bars.is_empty() {
        return Err(Error::failed(format!("no historical bars for {symbol}")));
    }
    Ok(bars)
}

/// Close prices of bars.
pub fn closes(bars: &[Bar]) -> Vec<f64> {
    bars.iter().map(|b| b.close).collect()
}

/// OHLC records of bars.
pub fn ohlc(bars: &[Bar]) -> Vec<Ohlc> {
    bars.iter()
        .map(|b| Ohlc {
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
        })
        .collect()
}

/// Non-zero stock/ETF positions.
pub fn stock_positions(account: Option<&str>) -> Result<Vec<Position>, Error> {
    Ok(account::positions(account)?
        .into_iter()
        .filter(|p| p.quantity != 0.0 && p.contract.sec_type == SecType::Stock)
        .collect())
}

/// Price of a position: the portfolio's market price, else market value / quantity, else a
/// live quote.
pub fn position_price(p: &Position) -> Result<f64, Error> {
    if let Some(px) = p.market_price.filter(|x| *x > 0.0) {
        return Ok(px);
    }
    if let Some(mv) = p.market_value.filter(|_| p.quantity != 0.0) {
        let px = mv / p.quantity;
        if px > 0.0 {
            return Ok(px);
        }
    }
    stock_price(&p.contract.symbol)
}

/// Cash balance from the account summary (TotalCashValue).
pub fn summary_cash(s: &ibkr_plugin_sdk::AccountSummary) -> f64 {
    s.total_cash
        .or_else(|| {
            s.values
                .iter()
                .find(|v| v.tag == "TotalCashValue")
                .and_then(|v| v.value.parse().ok())
        })
        .unwrap_or(0.0)
}

/// Reads an optional string field.
pub fn opt_str<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Formats a currency amount with thousands separators: `12,345.67`.
pub fn money(x: f64) -> String {
    let neg = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u64;
    let (int, frac) = (cents / 100, cents % 100);
    let digits = int.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}{out}.{frac:02}", if neg { "-" } else { "" })
}

/// Formats a fraction as a percentage with `decimals` places: `0.1234` -> `12.34%`.
pub fn pct(x: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, x * 100.0)
}

/// A markdown table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    s.push_str(&format!("| {} |\n", headers.join(" | ")));
    s.push_str(&format!(
        "|{}\n",
        headers.iter().map(|_| "---|").collect::<String>()
    ));
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// Parses target weights from JSON (`{"VTI": 0.6}` or `[{"symbol": "VTI", "weight": 0.6}]`)
/// or text (`VTI:60,TLT:40` / `VTI=0.6 TLT=0.4`). Percentages summing to ~100 are scaled to 1.
pub fn parse_targets(v: &Value) -> Result<std::collections::BTreeMap<String, f64>, Error> {
    let mut out = std::collections::BTreeMap::new();
    match v {
        Value::Object(m) => {
            for (k, w) in m {
                let w = w
                    .as_f64()
                    .ok_or_else(|| Error::invalid(format!("target for {k} must be a number")))?;
                out.insert(k.trim().to_ascii_uppercase(), w);
            }
        }
        Value::Array(items) => {
            for it in items {
                let s = it.get("symbol").and_then(Value::as_str);
                let w = it.get("weight").and_then(Value::as_f64);
                match (s, w) {
                    (Some(s), Some(w)) => {
                        out.insert(s.trim().to_ascii_uppercase(), w);
                    }
                    _ => return Err(Error::invalid("targets items need symbol and weight")),
                }
            }
        }
        Value::String(text) => {
            for part in text
                .split([',', ';', ' ', '\n'])
                .filter(|p| !p.trim().is_empty())
            {
                let (s, w) = part.split_once([':', '=']).ok_or_else(|| {
                    Error::invalid(format!("bad target `{part}`, use SYMBOL:WEIGHT"))
                })?;
                let w: f64 = w
                    .trim()
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| Error::invalid(format!("bad weight in `{part}`")))?;
                out.insert(s.trim().to_ascii_uppercase(), w);
            }
        }
        _ => {
            return Err(Error::invalid(
                "targets must be an object, a list or a string",
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("targets is empty"));
    }
    let sum: f64 = out.values().sum();
    if sum > 1.5 && (sum - 100.0).abs() < 1.0 {
        for w in out.values_mut() {
            *w /= 100.0;
        }
    }
    Ok(out)
}

/// Option chain parameters of a stock: the host's `option-chain`, or — when the host cannot
/// answer it — expirations and strikes collected from the contract details of the underlying's
/// options.
pub fn option_chain_of(symbol: &str) -> Result<ibkr_plugin_sdk::OptionChain, Error> {
    let underlying = Contract::stock(symbol);
    let first_error = match market_data::option_chain(&underlying) {
        Ok(chains) => {
            let best = chains
                .iter()
                .find(|c| c.exchange == "SMART")
                .or_else(|| chains.first())
                .cloned();
            match best {
                Some(c) if !c.expirations.is_empty() && !c.strikes.is_empty() => return Ok(c),
                _ => None,
            }
        }
        Err(e) => Some(e),
    };
    let mut probe = Contract::stock(symbol);
    probe.sec_type = SecType::Option;
    let details = market_data::contract_details(&probe).map_err(|e| {
        Error::failed(format!(
            "no option chain for {symbol}: {:?}; contract details: {e:?}",
            first_error
        ))
    })?;
    let mut expirations: Vec<String> = Vec::new();
    let mut strikes: Vec<f64> = Vec::new();
    let mut multiplier = "100".to_string();
    let mut trading_class = String::new();
    for d in &details {
        let c = &d.contract;
        if let Some(e) = &c.last_trade_date
            && !expirations.contains(e)
        {
            expirations.push(e.clone());
        }
        if let Some(k) = c.strike
            && !strikes.iter().any(|x| (x - k).abs() < 1e-9)
        {
            strikes.push(k);
        }
        if let Some(m) = &c.multiplier {
            multiplier = m.clone();
        }
        if let Some(t) = &c.trading_class {
            trading_class = t.clone();
        }
    }
    if expirations.is_empty() || strikes.is_empty() {
        return Err(Error::failed(format!("no listed options for {symbol}")));
    }
    expirations.sort();
    strikes.sort_by(f64::total_cmp);
    Ok(ibkr_plugin_sdk::OptionChain {
        underlying_con_id: 0,
        exchange: "SMART".into(),
        trading_class,
        multiplier,
        expirations,
        strikes,
    })
}

/// Outcome of asking the user to confirm an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The user confirmed.
    Confirmed,
    /// The user declined.
    Declined,
    /// No confirmation channel, and the operator configured this plugin with
    /// `require_confirmation = "false"` (unattended automation).
    WaivedByOperator,
}

impl Confirmation {
    /// Whether to go ahead.
    pub fn proceed(self) -> bool {
        self != Confirmation::Declined
    }

    /// Text for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Confirmation::Confirmed => "confirmed by the user",
            Confirmation::Declined => "declined by the user",
            Confirmation::WaivedByOperator => {
                "no confirmation channel; waived by the operator's plugin configuration"
            }
        }
    }
}

/// Asks the user to confirm. When the client has no confirmation channel the host fails the
/// request; the plugin then proceeds only if the operator set its configuration value
/// `require_confirmation` to `false` (configuration is operator-only, never settable over MCP).
pub fn confirm_order(question: &str) -> Result<Confirmation, Error> {
    match host::confirm(question) {
        Ok(true) => Ok(Confirmation::Confirmed),
        Ok(false) => Ok(Confirmation::Declined),
        Err(e @ (Error::PermissionDenied(_) | Error::Failed(_))) => {
            let waived = host::config("require_confirmation")
                .is_some_and(|v| matches!(v.trim(), "false" | "0" | "no"));
            if waived {
                host::warn(&format!(
                    "confirmation unavailable ({e:?}); waived by configuration"
                ));
                Ok(Confirmation::WaivedByOperator)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// Wraps a markdown report and structured data into one workflow output.
pub fn report(markdown: String, data: Value) -> Value {
    json!({ "report": markdown, "data": data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_every_shape() {
        let t = parse_targets(&json!({"vti": 0.6, "TLT": 0.4})).unwrap();
        assert_eq!(t["VTI"], 0.6);
        let t = parse_targets(&json!([{"symbol": "SPY", "weight": 1.0}])).unwrap();
        assert_eq!(t["SPY"], 1.0);
        let t = parse_targets(&json!("VTI:60, TLT:30,BND=10%")).unwrap();
        assert!((t["VTI"] - 0.6).abs() < 1e-12);
        assert!((t["BND"] - 0.1).abs() < 1e-12);
        assert!(parse_targets(&json!("VTI")).is_err());
        assert!(parse_targets(&json!({})).is_err());
        assert!(parse_targets(&json!(3)).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(money(1_234_567.891), "1,234,567.89");
        assert_eq!(money(-12.5), "-12.50");
        assert_eq!(money(999.999), "1,000.00");
        assert_eq!(pct(0.12345, 2), "12.35%");
        let t = table(&["A", "B"], &[vec!["1".into(), "2".into()]]);
        assert_eq!(t, "| A | B |\n|---|---|\n| 1 | 2 |\n");
    }

    #[test]
    fn quote_prices() {
        let mut q = Quote {
            contract: Contract::stock("X"),
            bid: Some(9.0),
            ask: Some(11.0),
            last: None,
            close: Some(8.0),
            bid_size: None,
            ask_size: None,
            volume: None,
            timestamp_ms: 0,
        };
        assert_eq!(quote_price(&q), Some(10.0));
        q.last = Some(10.5);
        assert_eq!(quote_price(&q), Some(10.5));
        q.last = None;
        q.ask = None;
        assert_eq!(quote_price(&q), Some(8.0));
    }

    #[test]
    fn quant_errors_map_to_invalid_argument_or_failed() {
        assert_eq!(
            q_err(QuantError::InvalidInput("period must be > 0".into())),
            Error::InvalidArgument("period must be > 0".into())
        );
        assert_eq!(
            q_err(QuantError::InsufficientData { need: 20, have: 3 }),
            Error::Failed("insufficient data: need at least 20 observations, have 3".into())
        );
    }

    #[test]
    fn quote_price_ignores_zero_negative_and_non_finite_values() {
        let q = Quote {
            contract: Contract::stock("X"),
            bid: Some(0.0),
            ask: Some(11.0),
            last: Some(f64::NAN),
            close: Some(-1.0),
            bid_size: None,
            ask_size: None,
            volume: None,
            timestamp_ms: 0,
        };
        // No usable last, a one-sided book and a negative close: no price.
        assert_eq!(quote_price(&q), None);
    }

    fn summary(
        total_cash: Option<f64>,
        values: &[(&str, &str)],
    ) -> ibkr_plugin_sdk::AccountSummary {
        ibkr_plugin_sdk::AccountSummary {
            account: "DU1".into(),
            currency: "USD".into(),
            net_liquidation: None,
            total_cash,
            buying_power: None,
            available_funds: None,
            excess_liquidity: None,
            gross_position_value: None,
            init_margin: None,
            maint_margin: None,
            values: values
                .iter()
                .map(|(t, v)| ibkr_plugin_sdk::AccountValue {
                    tag: t.to_string(),
                    value: v.to_string(),
                    currency: "USD".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn cash_from_the_field_else_the_tag_else_zero() {
        assert_eq!(
            summary_cash(&summary(Some(5.0), &[("TotalCashValue", "7")])),
            5.0
        );
        assert_eq!(
            summary_cash(&summary(
                None,
                &[("NetLiquidation", "9"), ("TotalCashValue", "7.5")]
            )),
            7.5
        );
        assert_eq!(
            summary_cash(&summary(None, &[("TotalCashValue", "n/a")])),
            0.0
        );
        assert_eq!(summary_cash(&summary(None, &[])), 0.0);
    }

    fn position(market_price: Option<f64>, market_value: Option<f64>) -> Position {
        Position {
            account: "DU1".into(),
            contract: Contract::stock("X"),
            quantity: 4.0,
            avg_cost: 1.0,
            market_price,
            market_value,
            unrealized_pnl: None,
            realized_pnl: None,
        }
    }

    #[test]
    fn position_price_prefers_the_mark_then_value_per_share() {
        assert_eq!(position_price(&position(Some(12.5), Some(100.0))), Ok(12.5));
        assert_eq!(position_price(&position(Some(0.0), Some(100.0))), Ok(25.0));
        assert_eq!(position_price(&position(None, Some(100.0))), Ok(25.0));
    }

    #[test]
    fn bars_to_closes_and_ohlc() {
        let b = Bar {
            time: 0,
            open: 1.0,
            high: 3.0,
            low: 0.5,
            close: 2.0,
            volume: 10.0,
            wap: 1.5,
            count: 1,
        };
        assert_eq!(closes(&[b, b]), [2.0, 2.0]);
        let o = ohlc(&[b]);
        assert_eq!(
            (o[0].open, o[0].high, o[0].low, o[0].close),
            (1.0, 3.0, 0.5, 2.0)
        );
    }

    #[test]
    fn optional_strings_skip_empty_and_non_strings() {
        let v = json!({"a": "x", "b": "", "c": 3});
        assert_eq!(opt_str(&v, "a"), Some("x"));
        assert_eq!(opt_str(&v, "b"), None);
        assert_eq!(opt_str(&v, "c"), None);
        assert_eq!(opt_str(&v, "d"), None);
    }

    #[test]
    fn targets_scale_percentages_only_when_they_sum_to_100() {
        let t = parse_targets(&json!({"A": 60, "B": 40})).unwrap();
        assert_eq!((t["A"], t["B"]), (0.6, 0.4));
        // Fractions are kept; so are sums that are neither 1 nor ~100 (quant rejects them later).
        let t = parse_targets(&json!("A=0.7 B=0.3")).unwrap();
        assert_eq!((t["A"], t["B"]), (0.7, 0.3));
        let t = parse_targets(&json!({"A": 30, "B": 40})).unwrap();
        assert_eq!((t["A"], t["B"]), (30.0, 40.0));
        assert_eq!(
            parse_targets(&json!({"A": "60"})).unwrap_err(),
            Error::InvalidArgument("target for A must be a number".into())
        );
        assert_eq!(
            parse_targets(&json!([{"symbol": "A"}])).unwrap_err(),
            Error::InvalidArgument("targets items need symbol and weight".into())
        );
        assert_eq!(
            parse_targets(&json!("A:x")).unwrap_err(),
            Error::InvalidArgument("bad weight in `A:x`".into())
        );
    }

    #[test]
    fn confirmation_outcomes() {
        assert!(Confirmation::Confirmed.proceed());
        assert!(Confirmation::WaivedByOperator.proceed());
        assert!(!Confirmation::Declined.proceed());
        assert_eq!(Confirmation::Declined.describe(), "declined by the user");
    }

    #[test]
    fn report_wraps_markdown_and_data() {
        assert_eq!(
            report("# R".into(), json!({"k": 1})),
            json!({"report": "# R", "data": {"k": 1}})
        );
    }
}
