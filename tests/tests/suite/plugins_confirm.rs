//! Plugin order confirmation through MCP elicitation: a real rmcp client that declares the
//! `elicitation` capability answers the host's `elicitation/create` request; the bundled
//! rebalance workflow runs WITHOUT the operator's `require_confirmation = "false"` waiver.
//! The user's think time does not count against the plugin's deadline, and has its own bound.

use crate::workflows_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use e2e::ibkr_mcp::plugins::config::{PartialLimits, PluginSettings};
use parking_lot::Mutex;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, FormElicitationCapability,
    Implementation, ProtocolVersion,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ErrorData, Peer, RoleClient, ServiceExt};
use serde_json::{Value, json};
use workflows_common::{Setup, start_with};

/// One elicitation request the client saw.
#[derive(Debug, Clone)]
struct Seen {
    message: String,
    schema: Value,
}

/// A client that can confirm: answers every elicitation with `answer`.
#[derive(Clone)]
struct Confirming {
    accept: bool,
    /// How long the "user" thinks before answering.
    delay: Duration,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ClientHandler for Confirming {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation =
            Some(ElicitationCapability::new().with_form(FormElicitationCapability::new()));
        let mut info = ClientConfig::new(caps, Implementation::new("e2e-confirming", "0.1.0"));
        info.protocol_version = ProtocolVersion::V_2025_11_25;
        info
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = request
        else {
            return Ok(ElicitResult::new(ElicitationAction::Cancel));
        };
        self.seen.lock().push(Seen {
            message,
            schema: serde_json::to_value(&requested_schema).unwrap_or_default(),
        });
        tokio::time::sleep(self.delay).await;
        Ok(if self.accept {
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}))
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }
}

async fn connect(url: &str, handler: Confirming) -> Result<RunningService<RoleClient, Confirming>> {
    handler
        .serve(StreamableHttpClientTransport::from_uri(url.to_string()))
        .await
        .context("MCP initialize failed")
}

fn targets() -> Value {
    json!({"VTI": 0.40, "TLT": 0.20, "SPY": 0.15, "BND": 0.20, "AAPL": 0.05})
}

async fn call(peer: &Peer<RoleClient>, name: &str, args: Value) -> Result<CallToolResult> {
    let mut p = CallToolRequestParams::new(name.to_string());
    p.arguments = args.as_object().cloned();
    Ok(peer.call_tool(p).await?)
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn positions(peer: &Peer<RoleClient>) -> Result<Vec<(String, f64)>> {
    let r = call(peer, "ibkr_get_positions", json!({})).await?;
    let p = r
        .structured_content
        .clone()
        .ok_or_else(|| anyhow!("no positions: {}", text(&r)))?;
    let mut out: Vec<(String, f64)> = p["positions"]
        .as_array()
        .ok_or_else(|| anyhow!("no positions array: {p}"))?
        .iter()
        .filter(|x| x["contract"]["secType"] == "STK")
        .map(|x| {
            (
                x["contract"]["symbol"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                x["position"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

async fn rebalance_with(accept: bool) -> Result<(CallToolResult, Vec<Seen>, bool)> {
    rebalance_slow(accept, Duration::ZERO, None).await
}

/// Rebalance with a user who answers after `delay`, and optionally tight plugin limits
/// (`timeout_ms`, `confirm_timeout_ms`) for `rebalance_portfolio`.
async fn rebalance_slow(
    accept: bool,
    delay: Duration,
    limits: Option<(u64, u64)>,
) -> Result<(CallToolResult, Vec<Seen>, bool)> {
    // `require_confirmation: true` = no operator waiver in the plugins' configuration.
    let w = start_with(
        Setup {
            require_confirmation: true,
            ..Setup::default()
        },
        |config| {
            if let Some((timeout_ms, confirm_timeout_ms)) = limits {
                config.plugins.plugin.insert(
                    "rebalance_portfolio".into(),
                    PluginSettings {
                        limits: Some(PartialLimits {
                            timeout_ms: Some(timeout_ms),
                            confirm_timeout_ms: Some(confirm_timeout_ms),
                            ..PartialLimits::default()
                        }),
                        ..PluginSettings::default()
                    },
                );
            }
        },
    )
    .await?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let c = connect(
        &w.env.mcp_url(),
        Confirming {
            accept,
            delay,
            seen: seen.clone(),
        },
    )
    .await?;
    let before = positions(&c).await?;
    let r = call(
        &c,
        "rebalance_portfolio__rebalance",
        json!({"targets": targets(), "cash_buffer_pct": 0.01, "execute": true}),
    )
    .await?;
    let moved = positions(&c).await? != before;
    c.cancel().await?;
    w.shutdown().await;
    let seen = seen.lock().clone();
    Ok((r, seen, moved))
}

fn assert_one_confirmation(seen: &[Seen]) {
    assert_eq!(seen.len(), 1, "exactly one elicitation: {seen:?}");
    let s = &seen[0];
    assert!(
        s.message.contains("rebalance_portfolio"),
        "message names the plugin: {}",
        s.message
    );
    assert_eq!(
        s.schema["properties"]["confirm"]["type"], "boolean",
        "{s:?}"
    );
    assert_eq!(s.schema["required"], json!(["confirm"]), "{s:?}");
}

#[tokio::test]
async fn accepted_elicitation_places_the_orders() -> Result<()> {
    let (r, seen, moved) = rebalance_with(true).await?;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "rebalanced", "{}", out["report"]);
    assert_eq!(
        out["data"]["confirmation"], "confirmed by the user",
        "{out}"
    );
    assert_one_confirmation(&seen);
    assert!(moved, "positions moved in the simulator");
    Ok(())
}

#[tokio::test]
async fn declined_elicitation_places_nothing() -> Result<()> {
    let (r, seen, moved) = rebalance_with(false).await?;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "declined", "{out}");
    assert!(
        out["report"]
            .as_str()
            .unwrap_or_default()
            .contains("Declined"),
        "{out}"
    );
    assert_one_confirmation(&seen);
    assert!(!moved, "nothing was placed");
    Ok(())
}

/// The user thinks longer than the plugin's whole deadline: the wait is not charged to the
/// deadline, so the confirmed orders are still placed.
#[tokio::test]
async fn slow_answer_does_not_count_against_the_plugin_deadline() -> Result<()> {
    let t = Instant::now();
    let (r, seen, moved) =
        rebalance_slow(true, Duration::from_millis(4_000), Some((3_000, 60_000))).await?;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "rebalanced", "{}", out["report"]);
    assert_one_confirmation(&seen);
    assert!(moved, "positions moved in the simulator");
    assert!(t.elapsed() >= Duration::from_millis(4_000));
    Ok(())
}

/// A user who does not answer within the plugin's confirmation budget: the confirmation is
/// declined by the host, nothing is placed, and the call ends instead of hanging.
#[tokio::test]
async fn unanswered_confirmation_times_out_and_places_nothing() -> Result<()> {
    let t = Instant::now();
    let (r, seen, moved) =
        rebalance_slow(true, Duration::from_secs(20), Some((30_000, 1_500))).await?;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    let msg = text(&r);
    assert!(
        msg.contains("[declined]") && msg.contains("1500 ms"),
        "{msg}"
    );
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!moved, "nothing was placed");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    Ok(())
}
