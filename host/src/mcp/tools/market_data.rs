//! Market data tools: ibkr_get_historical_data, ibkr_stream_market_data, ibkr_get_quote.

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25, which we serve.
#![allow(deprecated)]

use std::time::Instant;

use rmcp::model::LoggingLevel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::contracts::ContractParams;
use super::{
    check_duration, default_currency, default_duration_seconds, default_exchange, default_sec_type,
};
use crate::broker::{Bar, BrokerError, ContractSpec, HistoricalRequest, Quote};
use crate::mcp::registry::{Kind, ToolDef, tool};

fn default_duration_str() -> String {
    "1 Y".into()
}
fn default_bar_size() -> String {
    "1 day".into()
}
fn default_what_to_show() -> String {
    "TRADES".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct HistoricalParams {
    /// Ticker symbol, e.g. "VTI".
    pub symbol: String,
    /// How far back: "<n> S|D|W|M|Y", e.g. "30 D", "1 Y".
    #[serde(default = "default_duration_str", rename = "durationStr")]
    pub duration_str: String,
    /// Bar size: 1 secs, 5 secs, ..., 1 min, 5 mins, ..., 1 hour, ..., 1 day, 1 week, 1 month.
    #[serde(default = "default_bar_size", rename = "barSizeSetting")]
    pub bar_size_setting: String,
    /// TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST, HISTORICAL_VOLATILITY, OPTION_IMPLIED_VOLATILITY.
    #[serde(default = "default_what_to_show", rename = "whatToShow")]
    pub what_to_show: String,
    /// Security type: STK, OPT, FUT, CASH, IND, ...
    #[serde(default = "default_sec_type", rename = "secType")]
    pub sec_type: String,
    /// Exchange; SMART for smart routing.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Currency, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Regular trading hours only.
    #[serde(default = "default_true", rename = "useRTH")]
    pub use_rth: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoricalResult {
    pub symbol: String,
    pub count: usize,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StreamParams {
    /// Ticker symbol, e.g. "SPY".
    pub symbol: String,
    /// How long to stream, in seconds (1-3600).
    #[serde(default = "default_duration_seconds")]
    pub duration_seconds: u64,
    /// Security type: STK, OPT, FUT, CASH, IND, ...
    #[serde(default = "default_sec_type", rename = "secType")]
    pub sec_type: String,
    /// Exchange; SMART for smart routing.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Currency, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StreamResult {
    pub symbol: String,
    /// Number of quote updates received.
    pub updates_count: u64,
    /// The last quote.
    pub latest: Option<Quote>,
    /// True when the client cancelled before the duration elapsed.
    pub cancelled: bool,
    pub message: String,
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "market_data",
            "ibkr_get_historical_data",
            "Historical bars",
            "Get historical OHLCV bars for a contract (reqHistoricalData).",
            Kind::Query,
            |broker, p: HistoricalParams, _ctx| async move {
                let req = HistoricalRequest {
                    contract: ContractSpec::new(&p.symbol, &p.sec_type, &p.exchange, &p.currency),
                    duration_str: p.duration_str,
                    bar_size_setting: p.bar_size_setting,
                    what_to_show: p.what_to_show,
                    use_rth: p.use_rth,
                };
                let bars = broker.historical_bars(&req).await?;
                Ok(HistoricalResult {
                    symbol: p.symbol.to_ascii_uppercase(),
                    count: bars.len(),
                    bars,
                })
            },
        ),
        tool(
            "market_data",
            "ibkr_stream_market_data",
            "Stream market data",
            "Stream real-time market data for a symbol for duration_seconds. Quote updates are sent \
             as log notifications (notifications/message) and progress notifications while the \
             call runs; the call honours cancellation and returns a summary with the last quote.",
            Kind::Query,
            |broker, p: StreamParams, ctx| async move {
                let duration = check_duration(p.duration_seconds)?;
                let spec = ContractSpec::new(&p.symbol, &p.sec_type, &p.exchange, &p.currency);
                let mut stream = broker.subscribe_quotes(&spec).await?;
                let symbol = p.symbol.to_ascii_uppercase();
                ctx.log(
                    LoggingLevel::Info,
                    "ibkr_stream_market_data",
                    serde_json::json!({ "message": format!("streaming market data for {symbol}") }),
                )
                .await;
                let start = Instant::now();
                let deadline = tokio::time::Instant::now() + duration;
                let total = duration.as_secs_f64();
                let mut latest: Option<Quote> = None;
                let mut count = 0u64;
                let mut cancelled = false;
                let mut last_sent = Instant::now() - std::time::Duration::from_secs(1);
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => break,
                        _ = ctx.ct.cancelled() => { cancelled = true; break; }
                        _ = tick.tick() => {
                            let el = start.elapsed().as_secs_f64().min(total);
                            ctx.progress(el, Some(total), format!("{count} updates")).await;
                        }
                        item = stream.next() => match item {
                            Some(Ok(q)) => {
                                count += 1;
                                // At most 4 log notifications a second.
                                if last_sent.elapsed() >= std::time::Duration::from_millis(250) {
                                    last_sent = Instant::now();
                                    ctx.log(
                                        LoggingLevel::Info,
                                        "ibkr_stream_market_data",
                                        serde_json::to_value(&q).unwrap_or_default(),
                                    )
                                    .await;
                                }
                                latest = Some(q);
                            }
                            Some(Err(e)) => return Err(e),
                            None => break,
                        },
                    }
                }
                drop(stream);
                ctx.progress(
                    start.elapsed().as_secs_f64().min(total),
                    Some(total),
                    "done",
                )
                .await;
                Ok(StreamResult {
                    message: format!(
                        "{} for {symbol}: {count} updates in {:.1}s",
                        if cancelled {
                            "Streaming cancelled"
                        } else {
                            "Streaming completed"
                        },
                        start.elapsed().as_secs_f64()
                    ),
                    symbol,
                    updates_count: count,
                    latest,
                    cancelled,
                })
            },
        ),
        tool(
            "market_data",
            "ibkr_get_quote",
            "Quote snapshot",
            "Get a one-shot quote snapshot (bid, ask, last, sizes, OHLC, volume) for a symbol.",
            Kind::Query,
            |broker, p: ContractParams, _ctx| async move {
                if p.symbol.trim().is_empty() {
                    return Err(BrokerError::invalid("symbol", "must not be empty"));
                }
                broker.quote(&p.spec()).await
            },
        ),
    ]
}
