//! MCP surface over real HTTP: initialize, tools/list, every tool, errors, streaming.

use std::time::{Duration, Instant};

use e2e::{TestEnv, call, call_err, call_raw, connect_client, connect_client_stateless};
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, RequestMetaObject};
use serde_json::{Value, json};

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
    assert!(info.capabilities.prompts.is_some());
    client.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tools_list_has_every_tool_with_schemas_and_annotations() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let client = env.client().await?;
    let tools = client.list_all_tools().await?;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for n in ALL_TOOLS {
        assert!(names.contains(n), "missing tool {n}: {names:?}");
    }
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
    let tools = client.list_all_tools().await?;
    assert!(tools.len() >= ALL_TOOLS.len());
    let s = call(&client, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "connected");
    let p = call(&client, "ibkr_get_positions", json!({})).await?;
    assert!(p["positions"].is_array());
    client.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn query_tools_return_structured_data() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;

    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["is_connected"], true);
    assert!(s["serverVersion"].as_i64().unwrap() >= 213);
    let account = s["accounts"][0].as_str().expect("an account").to_string();

    let d = call(&c, "ibkr_get_contract_details", json!({"symbol": "AAPL"})).await?;
    assert!(d["count"].as_u64().unwrap() >= 1);
    assert_eq!(d["contracts"][0]["symbol"], "AAPL");
    assert!(d["contracts"][0]["conId"].as_i64().unwrap() > 0);
    let con_id = d["contracts"][0]["conId"].as_i64().unwrap();

    let h = call(
        &c,
        "ibkr_get_historical_data",
        json!({"symbol": "VTI", "durationStr": "30 D", "barSizeSetting": "1 day"}),
    )
    .await?;
    assert!(h["count"].as_u64().unwrap() >= 10, "{h}");
    let bar = &h["bars"][0];
    assert!(bar["high"].as_f64().unwrap() >= bar["low"].as_f64().unwrap());

    let q = call(&c, "ibkr_get_quote", json!({"symbol": "AAPL"})).await?;
    assert_eq!(q["symbol"], "AAPL");
    assert!(
        q["last"]
            .as_f64()
            .or(q["bid"].as_f64())
            .or(q["close"].as_f64())
            .is_some(),
        "{q}"
    );

    let a = call(&c, "ibkr_get_account_summary", json!({})).await?;
    let tags: Vec<&str> = a["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["tag"].as_str())
        .collect();
    assert!(tags.contains(&"NetLiquidation"), "{tags:?}");

    let p = call(&c, "ibkr_get_positions", json!({})).await?;
    assert!(p["positions"].is_array());

    let pnl = call(&c, "ibkr_get_pnl", json!({})).await?;
    assert_eq!(pnl["account"], account.as_str());
    assert!(pnl["dailyPnl"].is_number());

    let ps = call(
        &c,
        "ibkr_get_pnl_single",
        json!({"account": account, "modelCode": ""}),
    )
    .await?;
    assert_eq!(ps["conId"], 0);

    // Single-position PnL for a held contract, if any.
    if let Some(pos) = p["positions"].as_array().and_then(|a| a.first()) {
        let cid = pos["contract"]["conId"].as_i64().unwrap();
        let r = call(
            &c,
            "ibkr_get_pnl_single",
            json!({"account": account, "conId": cid}),
        )
        .await?;
        assert_eq!(r["conId"].as_i64().unwrap(), cid);
    } else {
        let _ = con_id;
    }

    let id = call(&c, "ibkr_get_next_valid_id", json!({})).await?;
    assert!(id["orderId"].as_i64().unwrap() > 0);

    let o = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert!(o["orders"].is_array());
    let e = call(&c, "ibkr_get_executions", json!({})).await?;
    assert!(e["executions"].is_array());

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
    let text = call_err(
        &c,
        "ibkr_get_contract_details",
        json!({"symbol": "NOSUCHSYM"}),
    )
    .await?;
    assert!(text.contains("200") || text.contains("not found"), "{text}");
    // Unknown order id: TWS error code surfaced.
    let text = call_err(&c, "ibkr_cancel_order", json!({"orderId": 987654})).await?;
    assert!(text.contains("TWS error"), "{text}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn streaming_market_data_sends_progress_and_logs() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let mut p = CallToolRequestParams::new("ibkr_stream_market_data");
    p.arguments = json!({"symbol": "SPY", "duration_seconds": 3})
        .as_object()
        .cloned();
    p.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::Number(7),
    )));
    let started = Instant::now();
    let r = c.call_tool(p).await?;
    assert!(r.is_error != Some(true), "{}", e2e::text_of(&r));
    assert!(started.elapsed() >= Duration::from_secs(3));
    let s = r.structured_content.unwrap();
    assert_eq!(s["symbol"], "SPY");
    assert!(s["updates_count"].as_u64().unwrap() > 0, "{s}");
    assert!(s["latest"].is_object());
    {
        let rec = c.service().received.lock();
        assert!(rec.progress.len() >= 2, "progress: {:?}", rec.progress);
        assert!(!rec.logs.is_empty(), "no log notifications");
    }
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
    assert!(s["updates_count"].as_u64().unwrap() > 0, "{s}");
    assert!(
        s["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["tag"] == "NetLiquidation"),
        "{s}"
    );
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn streaming_honours_cancellation() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let ct = tokio_util::sync::CancellationToken::new();
    let ctx = ibkr_mcp::mcp::ToolContext {
        ct: ct.clone(),
        ..Default::default()
    };
    let args = json!({"symbol": "SPY", "duration_seconds": 30})
        .as_object()
        .cloned()
        .unwrap();
    let fut = env
        .host
        .registry
        .call_tool("ibkr_stream_market_data", args, ctx)
        .unwrap();
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        ct.cancel();
    });
    let r = fut.await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        r.is_error != Some(true) || e2e::text_of(&r).contains("cancel"),
        "{}",
        e2e::text_of(&r)
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unknown_tool_is_a_protocol_error_not_a_panic() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    assert!(call_raw(&c, "ibkr_nope", json!({})).await.is_err());
    // The session still works.
    call(&c, "ibkr_get_status", json!({})).await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn second_client_is_independent() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let a = env.client().await?;
    let b = connect_client(&env.mcp_url(), None).await?;
    call(&a, "ibkr_get_status", json!({})).await?;
    call(&b, "ibkr_get_positions", json!({})).await?;
    a.cancel().await?;
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
    let t = Instant::now();
    while c.service().received.lock().tool_list_changed == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no tools/list_changed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tools = c.list_all_tools().await?;
    assert_eq!(tools.len(), n0 + 1);
    let r = call(&c, "test_echo", json!({"text": "hi"})).await?;
    assert_eq!(r["text"], "hi");
    assert!(env.host.registry.remove_tool_provider("echo"));
    let t = Instant::now();
    while c.service().received.lock().tool_list_changed < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no second tools/list_changed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.list_all_tools().await?.len(), n0);
    assert!(call_raw(&c, "test_echo", json!({})).await.is_err());
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
