//! MCP surface over real HTTP: initialize, tools/list, every tool, errors, streaming,
//! cancellation (`notifications/cancelled` from a real rmcp client) and session independence.

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{
    Client, TestEnv, call, call_err, call_raw, connect_client, connect_client_stateless,
    sim_subscriptions, wait_until,
};
use parking_lot::Mutex;
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, ErrorCode, ProgressToken,
};
use rmcp::service::{PeerRequestOptions, RequestHandle, ServiceError};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Deadline for state the host reaches on its own (a subscription ending, a notification
/// arriving): generous, a missed state fails instead of hanging.
const STATE_DEADLINE: Duration = Duration::from_secs(15);

const ALL_TOOLS: &[&str] = &[
    "ibkr_connect",
    "ibkr_disconnect",
    "ibkr_get_status",
    "ibkr_get_contract_details",
    "ibkr_search_symbols",
    "ibkr_get_historical_data",
    "ibkr_stream_market_data",
    "ibkr_get_quote",
    "ibkr_get_account_summary",
    "ibkr_get_positions",
    "ibkr_stream_account_updates",
    "ibkr_get_pnl",
    "ibkr_get_pnl_single",
    "ibkr_place_order",
    "ibkr_preview_order",
    "ibkr_place_bracket_order",
    "ibkr_modify_order",
    "ibkr_cancel_order",
    "ibkr_get_open_orders",
    "ibkr_get_executions",
    "ibkr_get_next_valid_id",
];

#[tokio::test]
async fn initialize_reports_server_info_and_capabilities() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let client = env.client().await?;
    let info = client.peer_info().expect("server info");
    let server = info.server_info.as_ref().expect("server info");
    assert_eq!(server.name, "ibkr-mcp");
    assert_eq!(server.version, ibkr_mcp::mcp::SERVER_VERSION);
    let tools = info.capabilities.tools.as_ref().expect("tools capability");
    assert_eq!(tools.list_changed, Some(true));
    let prompts = info
        .capabilities
        .prompts
        .as_ref()
        .expect("prompts capability");
    assert_eq!(prompts.list_changed, Some(true));
    assert!(info.capabilities.logging.is_some(), "logging capability");
    assert!(
        info.capabilities.completions.is_some(),
        "completions capability"
    );
    assert!(info.capabilities.resources.is_none(), "no resources yet");
    client.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tools_list_has_every_tool_with_schemas_and_annotations() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let client = env.client().await?;
    let tools = client.list_all_tools().await?;
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = ALL_TOOLS.to_vec();
    expected.sort_unstable();
    // Without plugins the host serves exactly its built-in tools.
    assert_eq!(names, expected);
    for t in &tools {
        assert!(t.title.is_some(), "{} has no title", t.name);
        assert!(
            t.description.as_deref().unwrap_or("").len() > 10,
            "{} description",
            t.name
        );
        assert!(t.output_schema.is_some(), "{} has no output schema", t.name);
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} annotations", t.name));
        let schema = Value::Object(t.input_schema.as_ref().clone());
        // Strict clients reject type arrays such as ["string","null"].
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                assert!(
                    !v.get("type").is_some_and(|t| t.is_array()),
                    "{}.{k} has a type array: {v}",
                    t.name
                );
                assert!(
                    v.get("description").is_some(),
                    "{}.{k} has no description",
                    t.name
                );
            }
        }
        match t.name.as_ref() {
            "ibkr_place_order"
            | "ibkr_place_bracket_order"
            | "ibkr_modify_order"
            | "ibkr_cancel_order" => {
                assert_eq!(a.destructive_hint, Some(true), "{}", t.name);
                assert_eq!(a.open_world_hint, Some(true), "{}", t.name);
                assert_eq!(a.read_only_hint, Some(false), "{}", t.name);
            }
            "ibkr_connect" | "ibkr_disconnect" => {
                assert_eq!(a.read_only_hint, Some(false), "{}", t.name);
            }
            _ => assert_eq!(a.read_only_hint, Some(true), "{}", t.name),
        }
    }
    // Exact predecessor parameter names.
    let props = |name: &str| -> Vec<String> {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        t.input_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    for p in [
        "symbol",
        "durationStr",
        "barSizeSetting",
        "whatToShow",
        "secType",
        "exchange",
        "currency",
    ] {
        assert!(
            props("ibkr_get_historical_data").contains(&p.to_string()),
            "{p}"
        );
    }
    for p in [
        "symbol",
        "action",
        "totalQuantity",
        "orderType",
        "lmtPrice",
        "secType",
        "exchange",
        "currency",
    ] {
        assert!(props("ibkr_place_order").contains(&p.to_string()), "{p}");
    }
    for p in ["host", "port", "clientId"] {
        assert!(props("ibkr_connect").contains(&p.to_string()), "{p}");
    }
    assert!(props("ibkr_cancel_order").contains(&"orderId".to_string()));
    assert!(props("ibkr_get_pnl_single").contains(&"modelCode".to_string()));
    assert!(props("ibkr_stream_market_data").contains(&"duration_seconds".to_string()));
    assert!(props("ibkr_stream_account_updates").contains(&"duration_seconds".to_string()));
    client.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn stateless_2026_client_lists_and_calls() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let client = connect_client_stateless(&env.mcp_url()).await?;
    assert_eq!(
        client.peer_info().map(|i| i.protocol_version.clone()),
        Some(rmcp::model::ProtocolVersion::V_2026_07_28)
    );
    let tools = client.list_all_tools().await?;
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = ALL_TOOLS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let s = call(&client, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "connected");
    let p = call(&client, "ibkr_get_positions", json!({})).await?;
    assert_eq!(positions_by_symbol(&p), sim_positions(&env), "{p}");
    client.cancel().await?;
    env.shutdown().await;
    Ok(())
}

/// Symbol -> quantity of an `ibkr_get_positions` answer.
fn positions_by_symbol(p: &Value) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for x in p["positions"].as_array().expect("positions array") {
        let sym = x["contract"]["symbol"]
            .as_str()
            .expect("symbol")
            .to_string();
        *m.entry(sym).or_insert(0.0) += x["position"].as_f64().expect("position");
    }
    m
}

/// Symbol -> quantity of the simulator's own book (every account).
fn sim_positions(env: &TestEnv) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for p in env.sim.admin().positions() {
        *m.entry(p.symbol.clone()).or_insert(0.0) += p.position;
    }
    m
}

#[tokio::test]
async fn query_tools_return_structured_data() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;

    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["is_connected"], true);
    assert!(s["serverVersion"].as_i64().unwrap() >= 213);
    let sim_accounts: Vec<String> = env
        .sim
        .admin()
        .accounts()
        .iter()
        .map(|a| a.account.clone())
        .collect();
    let accounts: Vec<String> = s["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(accounts, sim_accounts, "{s}");
    let account = accounts[0].clone();

    let d = call(&c, "ibkr_get_contract_details", json!({"symbol": "AAPL"})).await?;
    assert_eq!(d["count"], 1, "{d}");
    assert_eq!(d["contracts"][0]["symbol"], "AAPL");
    assert_eq!(d["contracts"][0]["secType"], "STK");
    assert!(d["contracts"][0]["conId"].as_i64().unwrap() > 0);

    let h = call(
        &c,
        "ibkr_get_historical_data",
        json!({"symbol": "VTI", "durationStr": "30 D", "barSizeSetting": "1 day"}),
    )
    .await?;
    assert_eq!(h["symbol"], "VTI");
    let bars = h["bars"].as_array().expect("bars");
    assert_eq!(h["count"].as_u64(), Some(bars.len() as u64));
    // "30 D" of daily bars: 30 trading days, as TWS answers.
    assert_eq!(bars.len(), 30);
    for bar in bars {
        let (o, hi, lo, cl) = (
            bar["open"].as_f64().unwrap(),
            bar["high"].as_f64().unwrap(),
            bar["low"].as_f64().unwrap(),
            bar["close"].as_f64().unwrap(),
        );
        assert!(lo <= o.min(cl) && o.max(cl) <= hi, "{bar}");
    }

    let q = call(&c, "ibkr_get_quote", json!({"symbol": "AAPL"})).await?;
    assert_eq!(q["symbol"], "AAPL");
    let (bid, ask, last) = (
        q["bid"].as_f64().expect("bid"),
        q["ask"].as_f64().expect("ask"),
        q["last"].as_f64().expect("last"),
    );
    assert!(0.0 < bid && bid < ask, "{q}");
    assert!(last > 0.0, "{q}");

    let a = call(&c, "ibkr_get_account_summary", json!({})).await?;
    let tags: Vec<&str> = a["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["tag"].as_str())
        .collect();
    assert!(tags.contains(&"NetLiquidation"), "{tags:?}");

    let p = call(&c, "ibkr_get_positions", json!({})).await?;
    let held = positions_by_symbol(&p);
    assert_eq!(held, sim_positions(&env), "{p}");
    assert_eq!(
        p["count"].as_u64(),
        Some(p["positions"].as_array().unwrap().len() as u64)
    );

    let pnl = call(&c, "ibkr_get_pnl", json!({})).await?;
    assert_eq!(pnl["account"], account.as_str());
    assert!(pnl["dailyPnl"].is_number(), "{pnl}");

    let ps = call(
        &c,
        "ibkr_get_pnl_single",
        json!({"account": account, "modelCode": ""}),
    )
    .await?;
    assert_eq!(ps["conId"], 0);

    // Single-position PnL for a held contract (the simulator's default account holds several).
    let pos = p["positions"]
        .as_array()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("the default account holds positions: {p}"));
    let cid = pos["contract"]["conId"].as_i64().unwrap();
    let r = call(
        &c,
        "ibkr_get_pnl_single",
        json!({"account": account, "conId": cid}),
    )
    .await?;
    assert_eq!(r["conId"].as_i64(), Some(cid), "{r}");
    assert_eq!(r["position"].as_f64(), pos["position"].as_f64(), "{r}");

    let id = call(&c, "ibkr_get_next_valid_id", json!({})).await?;
    assert!(id["orderId"].as_i64().unwrap() > 0);

    // A fresh simulator: no working orders, no executions.
    assert!(env.sim.admin().orders().is_empty());
    let o = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert_eq!(o["orders"], json!([]), "{o}");
    let e = call(&c, "ibkr_get_executions", json!({})).await?;
    assert_eq!(e["executions"], json!([]), "{e}");

    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_arguments_name_the_argument() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let cases = [
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY"}),
            "totalQuantity",
        ),
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": "ten"}),
            "totalQuantity",
        ),
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "HOLD", "totalQuantity": 1}),
            "action",
        ),
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": -5}),
            "totalQuantity",
        ),
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT"}),
            "lmtPrice",
        ),
        (
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "FOO"}),
            "orderType",
        ),
        (
            "ibkr_get_historical_data",
            json!({"symbol": "VTI", "barSizeSetting": "7 days"}),
            "barSizeSetting",
        ),
        (
            "ibkr_get_historical_data",
            json!({"symbol": "VTI", "durationStr": "forever"}),
            "durationStr",
        ),
        (
            "ibkr_get_historical_data",
            json!({"symbol": "VTI", "whatToShow": "NOPE"}),
            "whatToShow",
        ),
        ("ibkr_get_contract_details", json!({}), "symbol"),
        ("ibkr_cancel_order", json!({"orderId": "x"}), "orderId"),
        (
            "ibkr_stream_market_data",
            json!({"symbol": "SPY", "duration_seconds": 0}),
            "duration_seconds",
        ),
        (
            "ibkr_get_pnl_single",
            json!({"account": "NOPE123"}),
            "account",
        ),
    ];
    for (tool, args, arg) in cases {
        let text = call_err(&c, tool, args.clone()).await?;
        assert!(
            text.contains(arg),
            "{tool} {args}: {text:?} does not name {arg}"
        );
    }
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tws_errors_are_tool_errors_with_code() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    // Unknown symbol: TWS answers error 200 to reqContractDetails.
    let text = call_err(
        &c,
        "ibkr_get_contract_details",
        json!({"symbol": "NOSUCHSYM"}),
    )
    .await?;
    assert_eq!(
        text, "TWS error 200: No security definition has been found for the request",
        "{text}"
    );
    // Unknown order id: TWS error 10147 to cancelOrder.
    let text = call_err(&c, "ibkr_cancel_order", json!({"orderId": 987654})).await?;
    assert_eq!(
        text, "TWS error 10147: OrderId 987654 that needs to be cancelled is not found.",
        "{text}"
    );
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

/// Market-data subscriptions the simulator holds for `symbol` (from every client).
fn md_subs(env: &TestEnv, symbol: &str) -> usize {
    sim_subscriptions(&env.sim, "market_data", symbol)
}

/// Start `ibkr_stream_market_data` as a cancellable request (progress token assigned by rmcp).
async fn start_stream(
    c: &Client,
    symbol: &str,
    duration_seconds: u64,
) -> anyhow::Result<RequestHandle<RoleClient>> {
    let mut p = CallToolRequestParams::new("ibkr_stream_market_data");
    p.arguments = json!({"symbol": symbol, "duration_seconds": duration_seconds})
        .as_object()
        .cloned();
    Ok(c.peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(p)),
            PeerRequestOptions::no_options(),
        )
        .await?)
}

/// The tool result of a request started with [`start_stream`].
async fn stream_result(h: RequestHandle<RoleClient>) -> anyhow::Result<Value> {
    let r = match h.await_response().await? {
        rmcp::model::ServerResult::CallToolResult(r) => r,
        other => anyhow::bail!("unexpected response {other:?}"),
    };
    anyhow::ensure!(r.is_error != Some(true), "{}", e2e::text_of(&r));
    let text = e2e::text_of(&r);
    r.structured_content
        .ok_or_else(|| anyhow::anyhow!("no structured content: {text}"))
}

#[tokio::test]
async fn streaming_market_data_sends_progress_and_logs() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let h = start_stream(&c, "SPY", 3).await?;
    let token = h.progress_token.clone();
    let started = Instant::now();
    let s = stream_result(h).await?;
    // The stream lasts its duration (a lower bound: the feature).
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(s["symbol"], "SPY");
    assert_eq!(s["cancelled"], false);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("Streaming completed for SPY: "),
        "{s}"
    );
    let updates = s["updates_count"].as_u64().unwrap();
    assert!(updates > 0, "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains(&format!(": {updates} updates in ")),
        "{s}"
    );
    assert_eq!(s["latest"]["symbol"], "SPY", "{s}");
    {
        let rec = c.service().received.lock();
        // One progress a second plus the final one, all for this request, total = duration.
        assert!(rec.progress.len() >= 3, "progress: {:?}", rec.progress);
        assert!(rec.progress.iter().all(|p| p.progress_token == token));
        assert!(rec.progress.iter().all(|p| p.total == Some(3.0)));
        assert!(
            rec.progress
                .windows(2)
                .all(|w| w[0].progress <= w[1].progress),
            "{:?}",
            rec.progress
        );
        let last = rec.progress.last().unwrap();
        assert_eq!(last.message.as_deref(), Some("done"));
        assert!(last.progress >= 2.9, "{last:?}");
        // First log: the stream started; then quotes of SPY.
        assert!(rec.logs.len() >= 2, "logs: {:?}", rec.logs);
        assert_eq!(
            rec.logs[0].data,
            json!({"message": "streaming market data for SPY"})
        );
        assert!(
            rec.logs[1..].iter().all(|l| l.data["symbol"] == "SPY"),
            "{:?}",
            rec.logs
        );
        assert!(
            rec.logs
                .iter()
                .all(|l| l.logger.as_deref() == Some("ibkr_stream_market_data"))
        );
    }
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn finished_stream_releases_its_gateway_subscription() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    assert_eq!(md_subs(&env, "SPY"), 0);
    let h = start_stream(&c, "SPY", 2).await?;
    wait_until(
        STATE_DEADLINE,
        "the SPY subscription in the simulator",
        || md_subs(&env, "SPY") == 1,
    )
    .await?;
    let s = stream_result(h).await?;
    assert_eq!(s["cancelled"], false, "{s}");
    wait_until(STATE_DEADLINE, "the SPY subscription to end", || {
        md_subs(&env, "SPY") == 0
    })
    .await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn streaming_account_updates_returns_summary() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let s = call(
        &c,
        "ibkr_stream_account_updates",
        json!({"duration_seconds": 2}),
    )
    .await?;
    assert_eq!(s["cancelled"], false, "{s}");
    assert!(s["updates_count"].as_u64().unwrap() > 0, "{s}");
    let account = env.sim.admin().accounts()[0].account.clone();
    let net_liq: Vec<&Value> = s["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["tag"] == "NetLiquidation")
        .collect();
    assert!(!net_liq.is_empty(), "{s}");
    assert!(
        net_liq.iter().all(|v| v["account"] == account.as_str()),
        "{s}"
    );
    // The account-updates subscription ends with the call.
    wait_until(
        STATE_DEADLINE,
        "the account-updates subscription to end",
        || {
            !env.sim
                .admin()
                .subscriptions()
                .iter()
                .any(|s| s.kind == "account_updates")
        },
    )
    .await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn streaming_honours_cancellation() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    // A stream far longer than the test: only a cancellation can end it in time.
    let h = start_stream(&c, "SPY", 3600).await?;
    wait_until(
        STATE_DEADLINE,
        "the SPY subscription in the simulator",
        || md_subs(&env, "SPY") == 1,
    )
    .await?;
    // The stream is live: it reports progress for this request.
    let token = h.progress_token.clone();
    wait_until(STATE_DEADLINE, "a progress notification", || {
        c.service()
            .received
            .lock()
            .progress
            .iter()
            .any(|p| p.progress_token == token)
    })
    .await?;
    // The client sends notifications/cancelled for the request.
    h.cancel(Some("test cancels the stream".into())).await?;
    // The host ends the stream: its gateway subscription goes away.
    wait_until(
        STATE_DEADLINE,
        "the cancelled stream's subscription to end",
        || md_subs(&env, "SPY") == 0,
    )
    .await?;
    // The session still works, including another stream.
    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "connected");
    let s = call(
        &c,
        "ibkr_stream_market_data",
        json!({"symbol": "QQQ", "duration_seconds": 1}),
    )
    .await?;
    assert_eq!(s["symbol"], "QQQ");
    assert_eq!(s["cancelled"], false);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unknown_tool_is_a_protocol_error_not_a_panic() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    match call_raw(&c, "ibkr_nope", json!({})).await {
        Err(e) => match e.downcast_ref::<ServiceError>() {
            Some(ServiceError::McpError(d)) => {
                assert_eq!(d.code, ErrorCode::INVALID_PARAMS, "{d:?}");
                assert_eq!(d.message, "unknown tool: ibkr_nope");
            }
            other => panic!("expected an MCP error, got {other:?}"),
        },
        Ok(r) => panic!("unknown tool answered {r:?}"),
    }
    // The session still works.
    call(&c, "ibkr_get_status", json!({})).await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

/// A transparent TCP relay in front of the host that records the `Mcp-Session-Id` response
/// headers passing through it: the session(s) the server assigned to the client behind it.
struct SessionTap {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SessionTap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SessionTap {
    async fn start(env: &TestEnv) -> anyhow::Result<Self> {
        let upstream: SocketAddr = env.host.addr();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let url = env
            .mcp_url()
            .replacen(&upstream.to_string(), &addr.to_string(), 1);
        let ids = Arc::new(Mutex::new(Vec::new()));
        let rec = ids.clone();
        let task = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let rec = rec.clone();
                tokio::spawn(async move {
                    let Ok(up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut dr, mut dw) = down.into_split();
                    let (mut ur, mut uw) = up.into_split();
                    let to_server = async {
                        tokio::io::copy(&mut dr, &mut uw).await?;
                        uw.shutdown().await
                    };
                    let to_client = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        let mut line = Vec::new();
                        loop {
                            let n = ur.read(&mut buf).await?;
                            if n == 0 {
                                return dw.shutdown().await;
                            }
                            dw.write_all(&buf[..n]).await?;
                            for &b in &buf[..n] {
                                if b != b'\n' {
                                    line.push(b);
                                    continue;
                                }
                                let l = String::from_utf8_lossy(&line);
                                if let Some((k, v)) = l.split_once(':')
                                    && k.trim().eq_ignore_ascii_case("mcp-session-id")
                                {
                                    rec.lock().push(v.trim().to_string());
                                }
                                line.clear();
                            }
                        }
                    };
                    tokio::select! {
                        _ = to_server => {}
                        _ = to_client => {}
                    }
                });
            }
        });
        Ok(SessionTap { url, ids, task })
    }

    /// The one session id the server gave this client.
    fn session_id(&self) -> String {
        let ids = self.ids.lock();
        let first = ids.first().cloned().expect("no Mcp-Session-Id seen");
        assert!(ids.iter().all(|i| *i == first), "several sessions: {ids:?}");
        first
    }
}

/// What a client was notified of (outlives the client).
type Rec = Arc<Mutex<e2e::Received>>;

/// The symbol of every log notification a client received (a quote's symbol, or the symbol of
/// the "streaming market data for X" start message).
fn logged_symbols(rec: &Rec) -> Vec<String> {
    rec.lock()
        .logs
        .iter()
        .map(|l| {
            l.data["symbol"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    l.data["message"]
                        .as_str()
                        .and_then(|m| m.strip_prefix("streaming market data for "))
                        .map(str::to_string)
                })
                .unwrap_or_else(|| panic!("unexpected log {l:?}"))
        })
        .collect()
}

fn progress_tokens(rec: &Rec) -> Vec<ProgressToken> {
    rec.lock()
        .progress
        .iter()
        .map(|p| p.progress_token.clone())
        .collect()
}

#[tokio::test]
async fn second_client_is_independent() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let tap_a = SessionTap::start(&env).await?;
    let tap_b = SessionTap::start(&env).await?;
    let a = connect_client(&tap_a.url, None).await?;
    let b = connect_client(&tap_b.url, None).await?;
    let (rec_a, rec_b) = (a.service().received.clone(), b.service().received.clone());
    call(&a, "ibkr_get_status", json!({})).await?;
    call(&b, "ibkr_get_status", json!({})).await?;

    // Two sessions.
    let (sid_a, sid_b) = (tap_a.session_id(), tap_b.session_id());
    assert!(!sid_a.is_empty());
    assert_ne!(sid_a, sid_b);

    // Each streams its own symbol.
    let ha = start_stream(&a, "SPY", 3600).await?;
    let hb = start_stream(&b, "QQQ", 3600).await?;
    let (tok_a, tok_b) = (ha.progress_token.clone(), hb.progress_token.clone());
    wait_until(STATE_DEADLINE, "both subscriptions", || {
        md_subs(&env, "SPY") == 1 && md_subs(&env, "QQQ") == 1
    })
    .await?;
    wait_until(STATE_DEADLINE, "quote logs on both clients", || {
        logged_symbols(&rec_a).len() >= 2 && logged_symbols(&rec_b).len() >= 2
    })
    .await?;

    // A cancels its stream: B's stream goes on.
    ha.cancel(Some("A cancels".into())).await?;
    wait_until(STATE_DEADLINE, "A's subscription to end", || {
        md_subs(&env, "SPY") == 0
    })
    .await?;
    assert_eq!(md_subs(&env, "QQQ"), 1, "B's stream ended with A's");

    // A closes its session (DELETE): B's stream and session go on.
    a.cancel().await?;
    let b_progress = progress_tokens(&rec_b).len();
    wait_until(STATE_DEADLINE, "B's progress after A closed", || {
        progress_tokens(&rec_b).len() > b_progress
    })
    .await?;
    assert_eq!(md_subs(&env, "QQQ"), 1, "B's stream ended with A's session");
    let s = call(&b, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "connected");

    // Notifications went only to the client whose call produced them.
    let (logs_a, logs_b) = (logged_symbols(&rec_a), logged_symbols(&rec_b));
    assert!(logs_a.iter().all(|s| s == "SPY"), "A got {logs_a:?}");
    assert!(logs_b.iter().all(|s| s == "QQQ"), "B got {logs_b:?}");
    assert!(progress_tokens(&rec_a).iter().all(|t| *t == tok_a));
    assert!(progress_tokens(&rec_b).iter().all(|t| *t == tok_b));

    hb.cancel(None).await?;
    wait_until(STATE_DEADLINE, "B's subscription to end", || {
        md_subs(&env, "QQQ") == 0
    })
    .await?;
    assert_eq!(tap_b.session_id(), sid_b);
    b.cancel().await?;
    env.shutdown().await;
    Ok(())
}

struct EchoProvider;

impl ibkr_mcp::mcp::ToolProvider for EchoProvider {
    fn tools(&self) -> Vec<rmcp::model::Tool> {
        let schema = json!({"type": "object", "properties": {"text": {"type": "string", "description": "echoed"}}});
        vec![rmcp::model::Tool::new(
            "test_echo",
            "Echo the arguments",
            std::sync::Arc::new(schema.as_object().unwrap().clone()),
        )]
    }

    fn call(
        &self,
        _name: &str,
        arguments: rmcp::model::JsonObject,
        _ctx: ibkr_mcp::mcp::ToolContext,
    ) -> futures::future::BoxFuture<'static, rmcp::model::CallToolResult> {
        Box::pin(async move { rmcp::model::CallToolResult::structured(Value::Object(arguments)) })
    }
}

#[tokio::test]
async fn dynamic_tool_provider_sends_list_changed() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let n0 = c.list_all_tools().await?.len();
    env.host
        .registry
        .add_tool_provider("echo", std::sync::Arc::new(EchoProvider));
    wait_until(STATE_DEADLINE, "tools/list_changed", || {
        c.service().received.lock().tool_list_changed == 1
    })
    .await?;
    let tools = c.list_all_tools().await?;
    assert_eq!(tools.len(), n0 + 1);
    let r = call(&c, "test_echo", json!({"text": "hi"})).await?;
    assert_eq!(r["text"], "hi");
    assert!(env.host.registry.remove_tool_provider("echo"));
    wait_until(STATE_DEADLINE, "a second tools/list_changed", || {
        c.service().received.lock().tool_list_changed == 2
    })
    .await?;
    assert_eq!(c.list_all_tools().await?.len(), n0);
    let err = call_raw(&c, "test_echo", json!({}))
        .await
        .expect_err("a removed tool is unknown");
    assert!(err.to_string().contains("unknown tool: test_echo"), "{err}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
