//! Account tools: ibkr_get_account_summary, ibkr_get_positions, ibkr_stream_account_updates,
//! ibkr_get_pnl, ibkr_get_pnl_single.

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25, which we serve.
#![allow(deprecated)]

use std::time::Instant;

use rmcp::model::LoggingLevel;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NoParams, check_duration, default_duration_seconds};
use crate::broker::{AccountUpdate, AccountValue, Pnl, PortfolioItem, Position};
use crate::mcp::registry::{Kind, ToolDef, tool};

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountSummaryResult {
    pub count: usize,
    /// One row per account, tag and currency (NetLiquidation, TotalCashValue, BuyingPower, ...).
    pub values: Vec<AccountValue>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionsResult {
    pub count: usize,
    pub positions: Vec<Position>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StreamAccountParams {
    /// Account id, e.g. DU1234567. Empty = the first managed account.
    #[serde(default)]
    pub account: String,
    /// How long to stream, in seconds (1-3600).
    #[serde(default = "default_duration_seconds")]
    pub duration_seconds: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StreamAccountResult {
    pub account: String,
    /// Number of updates received.
    pub updates_count: u64,
    /// Latest account values seen (by tag and currency).
    pub values: Vec<AccountValue>,
    /// Latest portfolio rows seen (by contract).
    pub portfolio: Vec<PortfolioItem>,
    pub cancelled: bool,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PnlParams {
    /// Account id. Empty = the first managed account.
    #[serde(default)]
    pub account: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PnlSingleParams {
    /// Account id. Empty = the first managed account.
    #[serde(default)]
    pub account: String,
    /// Model code (empty = none).
    #[serde(default, rename = "modelCode")]
    pub model_code: String,
    /// Contract id of one position; 0 = PnL of the whole account/model.
    #[serde(default, rename = "conId")]
    pub con_id: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PnlSingleResult {
    pub account: String,
    pub model_code: String,
    /// 0 for account/model PnL.
    pub con_id: i32,
    pub daily_pnl: f64,
    pub unrealized_pnl: Option<f64>,
    pub realized_pnl: Option<f64>,
    /// Position size (single-position PnL only).
    pub position: Option<f64>,
    /// Market value (single-position PnL only).
    pub value: Option<f64>,
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "account",
            "ibkr_get_account_summary",
            "Account summary",
            "Get overall account summary metrics (NetLiquidation, TotalCashValue, BuyingPower, \
             margin requirements, ...) for all managed accounts.",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move {
                let values = broker.account_summary().await?;
                Ok(AccountSummaryResult {
                    count: values.len(),
                    values,
                })
            },
        ),
        tool(
            "account",
            "ibkr_get_positions",
            "Positions",
            "Get current portfolio positions (account, contract, quantity, average cost).",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move {
                let positions = broker.positions().await?;
                Ok(PositionsResult {
                    count: positions.len(),
                    positions,
                })
            },
        ),
        tool(
            "account",
            "ibkr_stream_account_updates",
            "Stream account updates",
            "Stream real-time account values and portfolio updates for an account for \
             duration_seconds. Updates are sent as log notifications and progress notifications; \
             the call honours cancellation and returns the latest values and portfolio.",
            Kind::Query,
            |broker, p: StreamAccountParams, ctx| async move {
                let duration = check_duration(p.duration_seconds)?;
                let mut stream = broker.subscribe_account_updates(&p.account).await?;
                let account = stream.account().to_string();
                let start = Instant::now();
                let deadline = tokio::time::Instant::now() + duration;
                let total = duration.as_secs_f64();
                let mut values: Vec<AccountValue> = Vec::new();
                let mut portfolio: Vec<PortfolioItem> = Vec::new();
                let mut count = 0u64;
                let mut cancelled = false;
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
                            Some(Ok(u)) => {
                                count += 1;
                                match &u {
                                    AccountUpdate::Value(v) => {
                                        values.retain(|x| !(x.tag == v.tag && x.currency == v.currency && x.account == v.account));
                                        values.push(v.clone());
                                    }
                                    AccountUpdate::Portfolio(pi) => {
                                        portfolio.retain(|x| x.contract.con_id != pi.contract.con_id || x.account != pi.account);
                                        portfolio.push(pi.clone());
                                        ctx.log(LoggingLevel::Info, "ibkr_stream_account_updates",
                                            serde_json::to_value(&u).unwrap_or_default()).await;
                                    }
                                    AccountUpdate::Time { .. } | AccountUpdate::DownloadEnd => {
                                        ctx.log(LoggingLevel::Info, "ibkr_stream_account_updates",
                                            serde_json::to_value(&u).unwrap_or_default()).await;
                                    }
                                }
                            }
                            Some(Err(e)) => return Err(e),
                            None => break,
                        },
                    }
                }
                drop(stream);
                Ok(StreamAccountResult {
                    message: format!(
                        "{} for {account}: {count} updates in {:.1}s",
                        if cancelled {
                            "Streaming cancelled"
                        } else {
                            "Streaming completed"
                        },
                        start.elapsed().as_secs_f64()
                    ),
                    account,
                    updates_count: count,
                    values,
                    portfolio,
                    cancelled,
                })
            },
        ),
        tool(
            "account",
            "ibkr_get_pnl",
            "Account PnL",
            "Get the daily, unrealized and realized profit and loss of an account (reqPnL).",
            Kind::Query,
            |broker, p: PnlParams, _ctx| async move {
                let pnl: Pnl = broker.pnl(&p.account, "").await?;
                Ok(pnl)
            },
        ),
        tool(
            "account",
            "ibkr_get_pnl_single",
            "PnL for an account/model or one position",
            "Get PnL for a single account/model (reqPnL with modelCode), or for one position when \
             conId is given (reqPnLSingle).",
            Kind::Query,
            |broker, p: PnlSingleParams, _ctx| async move {
                if p.con_id < 0 {
                    return Err(crate::broker::BrokerError::invalid("conId", "must be >= 0"));
                }
                if p.con_id == 0 {
                    let r = broker.pnl(&p.account, &p.model_code).await?;
                    return Ok(PnlSingleResult {
                        account: r.account,
                        model_code: r.model_code,
                        con_id: 0,
                        daily_pnl: r.daily_pnl,
                        unrealized_pnl: r.unrealized_pnl,
                        realized_pnl: r.realized_pnl,
                        position: None,
                        value: None,
                    });
                }
                let r = broker
                    .pnl_single(&p.account, &p.model_code, p.con_id)
                    .await?;
                Ok(PnlSingleResult {
                    account: r.account,
                    model_code: r.model_code,
                    con_id: r.con_id,
                    daily_pnl: r.daily_pnl,
                    unrealized_pnl: Some(r.unrealized_pnl),
                    realized_pnl: Some(r.realized_pnl),
                    position: Some(r.position),
                    value: Some(r.value),
                })
            },
        ),
    ]
}
