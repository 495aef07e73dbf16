//! Plugin order confirmation through MCP elicitation: a real rmcp client that declares the
//! `elicitation` capability answers the host's `elicitation/create` request; the bundled
//! rebalance workflow runs WITHOUT the operator's `require_confirmation = "false"` waiver.
//! The user's think time does not count against the plugin's deadline, and has its own bound.

use crate::workflows_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use e2e::ibkr_mcp::broker::audit::AuditRecord;
use e2e::ibkr_mcp::plugins::config::{PartialLimits, PluginSettings};
use e2e::tws_sim::world::OrderInfo;
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

/// What the "user" answers to the confirmation form.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Accept the form with `confirm` set to this value.
    Accept(bool),
    Decline,
    Cancel,
}

/// A client that can confirm: answers every elicitation with `answer`.
#[derive(Clone)]
struct Confirming {
    answer: Answer,
    /// 2025-11-25 (session, initialize) or 2026-07-28 (stateless, server/discover).
    protocol: ProtocolVersion,
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
        info.protocol_version = self.protocol.clone();
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
        // The user's think time: the scenario, not a synchronisation.
        tokio::time::sleep(self.delay).await;
        Ok(match self.answer {
            Answer::Accept(confirm) => ElicitResult::new(ElicitationAction::Accept)
                .with_content(json!({ "confirm": confirm })),
            Answer::Decline => ElicitResult::new(ElicitationAction::Decline),
            Answer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}

async fn connect(url: &str, handler: Confirming) -> Result<RunningService<RoleClient, Confirming>> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    if handler.protocol >= ProtocolVersion::V_2026_07_28 {
        use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
        let versions = vec![handler.protocol.clone()];
        return handler
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: versions,
                },
            )
            .await
            .context("MCP discover failed");
    }
    handler
        .serve(transport)
        .await
        .context("MCP initialize failed")
}

/// The client that runs the rebalance.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// A 2025-11-25 session client that declares elicitation and answers this.
    Eliciting(Answer),
    /// A 2025-11-25 session client without the elicitation capability.
    NoElicitation,
    /// A 2026-07-28 stateless client that declares elicitation (and would accept).
    Stateless,
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

/// What one rebalance call did.
struct Outcome {
    result: CallToolResult,
    /// Elicitations the client saw.
    seen: Vec<Seen>,
    /// The positions (from the host's own tool) differ before and after.
    moved: bool,
    /// The simulator's orders after the call.
    orders: Vec<OrderInfo>,
    /// The host's audit records after the call.
    audit: Vec<AuditRecord>,
}

async fn rebalance_with(answer: Answer) -> Result<Outcome> {
    rebalance_slow(Via::Eliciting(answer), Duration::ZERO, None).await
}

/// Rebalance (execute = true) through the client `via`, whose user answers after `delay`,
/// and optionally with tight plugin limits (`timeout_ms`, `confirm_timeout_ms`) for
/// `rebalance_portfolio`.
async fn rebalance_slow(via: Via, delay: Duration, limits: Option<(u64, u64)>) -> Result<Outcome> {
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
    let args = json!({"targets": targets(), "cash_buffer_pct": 0.01, "execute": true});
    let (answer, protocol) = match via {
        Via::Eliciting(a) => (Some(a), ProtocolVersion::V_2025_11_25),
        Via::Stateless => (Some(Answer::Accept(true)), ProtocolVersion::V_2026_07_28),
        Via::NoElicitation => (None, ProtocolVersion::V_2025_11_25),
    };
    let (result, moved) = match answer {
        Some(answer) => {
            let c = connect(
                &w.env.mcp_url(),
                Confirming {
                    answer,
                    protocol,
                    delay,
                    seen: seen.clone(),
                },
            )
            .await?;
            let before = positions(&c).await?;
            let r = call(&c, "rebalance_portfolio__rebalance", args).await?;
            let moved = positions(&c).await? != before;
            c.cancel().await?;
            (r, moved)
        }
        None => {
            let c = w.client().await?;
            let before = positions(&c).await?;
            let r = call(&c, "rebalance_portfolio__rebalance", args).await?;
            let moved = positions(&c).await? != before;
            c.cancel().await?;
            (r, moved)
        }
    };
    let orders = w.env.sim.admin().orders();
    let audit = w.env.host.broker.audit().records()?;
    w.shutdown().await;
    let seen = seen.lock().clone();
    Ok(Outcome {
        result,
        seen,
        moved,
        orders,
        audit,
    })
}

/// Nothing reached the simulator or the audit log.
fn assert_nothing_placed(o: &Outcome) {
    assert!(o.orders.is_empty(), "{:#?}", o.orders);
    assert!(o.audit.is_empty(), "{:#?}", o.audit);
    assert!(!o.moved, "positions did not move");
}

/// The orders the plugin reports are exactly the simulator's orders, all market orders that
/// filled, each audited as requested and placed by the plugin.
fn assert_orders_placed(o: &Outcome) {
    let out = o.result.structured_content.clone().unwrap_or_default();
    let mut reported: Vec<(i64, String, String, f64)> = out["data"]["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("no orders in {out}"))
        .iter()
        .map(|x| {
            (
                x["order_id"].as_i64().unwrap_or_else(|| panic!("{x}")),
                x["symbol"].as_str().unwrap_or_default().to_string(),
                x["side"].as_str().unwrap_or_default().to_string(),
                x["quantity"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    let mut in_sim: Vec<(i64, String, String, f64)> = o
        .orders
        .iter()
        .map(|x| {
            (
                i64::from(x.order_id),
                x.symbol.clone(),
                x.action.clone(),
                x.quantity,
            )
        })
        .collect();
    reported.sort_by_key(|x| x.0);
    in_sim.sort_by_key(|x| x.0);
    assert!(!reported.is_empty(), "{out}");
    assert_eq!(reported, in_sim);
    for x in &o.orders {
        assert_eq!(
            (x.order_type.as_str(), x.status.as_str(), x.filled),
            ("MKT", "Filled", x.quantity),
            "{x:?}"
        );
    }
    let n = reported.len();
    let placed: Vec<i64> = o
        .audit
        .iter()
        .filter(|r| r.event == "placed")
        .map(|r| r.details["status"]["orderId"].as_i64().unwrap_or_default())
        .collect();
    let mut placed_sorted = placed.clone();
    placed_sorted.sort();
    assert_eq!(
        placed_sorted,
        reported.iter().map(|x| x.0).collect::<Vec<_>>()
    );
    assert_eq!(o.audit.len(), 2 * n, "{:#?}", o.audit);
    assert!(
        o.audit
            .iter()
            .all(|r| r.origin == "plugin:rebalance_portfolio"
                && ["place_requested", "placed"].contains(&r.event.as_str())),
        "{:#?}",
        o.audit
    );
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
    let o = rebalance_with(Answer::Accept(true)).await?;
    let r = &o.result;
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "rebalanced", "{}", out["report"]);
    assert_eq!(
        out["data"]["confirmation"], "confirmed by the user",
        "{out}"
    );
    assert_one_confirmation(&o.seen);
    assert!(o.moved, "positions moved in the simulator");
    assert_orders_placed(&o);
    Ok(())
}

/// The user submits the form but leaves `confirm` false: not a confirmation.
#[tokio::test]
async fn accepted_form_without_confirm_places_nothing() -> Result<()> {
    let o = rebalance_with(Answer::Accept(false)).await?;
    let r = &o.result;
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "declined", "{out}");
    assert_one_confirmation(&o.seen);
    assert_nothing_placed(&o);
    Ok(())
}

#[tokio::test]
async fn declined_elicitation_places_nothing() -> Result<()> {
    let o = rebalance_with(Answer::Decline).await?;
    let r = &o.result;
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "declined", "{out}");
    assert!(
        out["report"]
            .as_str()
            .unwrap_or_default()
            .contains("**Declined.** The user did not confirm; nothing was placed."),
        "{out}"
    );
    assert_one_confirmation(&o.seen);
    assert_nothing_placed(&o);
    Ok(())
}

/// The user dismisses the form (MCP `cancel` action): treated as a refusal.
#[tokio::test]
async fn cancelled_elicitation_places_nothing() -> Result<()> {
    let o = rebalance_with(Answer::Cancel).await?;
    let r = &o.result;
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "declined", "{out}");
    assert_one_confirmation(&o.seen);
    assert_nothing_placed(&o);
    Ok(())
}

/// A client without the elicitation capability cannot confirm: without the operator's waiver
/// the plugin refuses to trade, and says why.
#[tokio::test]
async fn client_without_elicitation_cannot_confirm_and_places_nothing() -> Result<()> {
    let o = rebalance_slow(Via::NoElicitation, Duration::ZERO, None).await?;
    let r = &o.result;
    assert_eq!(r.is_error, Some(true), "{:?}", r.structured_content);
    assert_eq!(
        text(r),
        "[permission-denied] plugin `rebalance_portfolio` failed: permission denied: no \
         confirmation channel: the MCP client cannot confirm"
    );
    assert!(o.seen.is_empty());
    assert_nothing_placed(&o);
    Ok(())
}

/// The 2026-07-28 stateless protocol forbids server-to-client requests: even a client that
/// declares elicitation is not asked, and the plugin refuses to trade.
#[tokio::test]
async fn stateless_client_is_not_asked_and_nothing_is_placed() -> Result<()> {
    let o = rebalance_slow(Via::Stateless, Duration::ZERO, None).await?;
    let r = &o.result;
    assert_eq!(r.is_error, Some(true), "{:?}", r.structured_content);
    assert_eq!(
        text(r),
        "[permission-denied] plugin `rebalance_portfolio` failed: permission denied: no \
         confirmation channel: the MCP client cannot confirm"
    );
    assert!(o.seen.is_empty(), "{:?}", o.seen);
    assert_nothing_placed(&o);
    Ok(())
}

/// The user thinks longer than the plugin's whole deadline: the wait is not charged to the
/// deadline, so the confirmed orders are still placed.
#[tokio::test]
async fn slow_answer_does_not_count_against_the_plugin_deadline() -> Result<()> {
    let t = Instant::now();
    let o = rebalance_slow(
        Via::Eliciting(Answer::Accept(true)),
        Duration::from_millis(4_000),
        Some((3_000, 60_000)),
    )
    .await?;
    let r = &o.result;
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    let out = r.structured_content.clone().unwrap_or_default();
    assert_eq!(out["data"]["status"], "rebalanced", "{}", out["report"]);
    assert_one_confirmation(&o.seen);
    assert!(o.moved, "positions moved in the simulator");
    assert_orders_placed(&o);
    assert!(t.elapsed() >= Duration::from_millis(4_000));
    Ok(())
}

/// A user who does not answer within the plugin's confirmation budget: the confirmation is
/// declined by the host, nothing is placed, and the call ends instead of hanging.
#[tokio::test]
async fn unanswered_confirmation_times_out_and_places_nothing() -> Result<()> {
    let t = Instant::now();
    let o = rebalance_slow(
        Via::Eliciting(Answer::Accept(true)),
        Duration::from_secs(20),
        Some((30_000, 1_500)),
    )
    .await?;
    let r = &o.result;
    assert_eq!(r.is_error, Some(true), "{}", text(r));
    assert_eq!(
        text(r),
        "[declined] plugin `rebalance_portfolio` failed: declined: no answer to the \
         confirmation request within 1500 ms"
    );
    assert_eq!(o.seen.len(), 1, "{:?}", o.seen);
    assert_nothing_placed(&o);
    // The bound is the feature: the call ends at the 1.5 s budget, long before the user's
    // 20 s answer.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    Ok(())
}
