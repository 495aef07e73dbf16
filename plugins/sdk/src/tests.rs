//! Native unit tests of the SDK's pure logic: input parsing, error mapping, the export glue
//! behind `register!`, and the constructors on the generated types. Host imports are never
//! called here (natively they are unreachable stubs).

use super::*;
use crate::bindings::ibkr::plugin::types::OptionRight;

#[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
struct Input {
    symbol: String,
    #[serde(default)]
    quantity: Option<f64>,
}

#[test]
fn parse_input_reads_typed_input() {
    let i: Input = parse_input(json!({"symbol": "AAPL", "quantity": 5})).unwrap();
    assert_eq!(
        i,
        Input {
            symbol: "AAPL".into(),
            quantity: Some(5.0)
        }
    );
}

#[test]
fn parse_input_errors_are_invalid_argument_naming_the_problem() {
    let e = parse_input::<Input>(json!({"quantity": 5})).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidArgument("input: missing field `symbol`".into())
    );
    assert_eq!(e.code(), "invalid-argument");
    let e = parse_input::<Input>(json!({"symbol": 7})).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidArgument("input: invalid type: integer `7`, expected a string".into())
    );
}

#[test]
fn to_output_serializes_and_maps_failures_to_failed() {
    let v = to_output(&Input {
        symbol: "X".into(),
        quantity: None,
    })
    .unwrap();
    assert_eq!(v, json!({"symbol": "X", "quantity": null}));
    // JSON object keys must be strings: serialization fails, reported as `failed`.
    let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    let e = to_output(&bad).unwrap_err();
    assert_eq!(e, Error::Failed("output: key must be a string".into()));
    assert_eq!(e.code(), "failed");
}

/// A plugin that echoes its input and fails on demand; prompts use the trait defaults.
struct Echo;

impl Plugin for Echo {
    fn workflows() -> Vec<Workflow> {
        vec![Workflow::read_only(
            "echo",
            "Echo",
            json!({"type": "object"}),
        )]
    }
    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "echo" => Ok(json!({"got": input})),
            "fail" => Err(Error::Declined("no".into())),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

/// A plugin with nothing but the trait's defaults.
struct Empty;
impl Plugin for Empty {}

#[test]
fn run_glue_parses_input_and_serializes_output() {
    let out = __private::run::<Echo>("echo".into(), r#"{"a": [1, 2]}"#.into()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"got": {"a": [1, 2]}})
    );
}

#[test]
fn run_glue_treats_blank_input_as_an_empty_object() {
    for blank in ["", "   ", "\n"] {
        let out = __private::run::<Echo>("echo".into(), blank.into()).unwrap();
        assert_eq!(out, r#"{"got":{}}"#, "input {blank:?}");
    }
}

#[test]
fn run_glue_rejects_non_json_input_as_invalid_argument() {
    let e = __private::run::<Echo>("echo".into(), "{not json".into()).unwrap_err();
    assert_eq!(e.code(), "invalid-argument");
    let Error::InvalidArgument(m) = e else {
        unreachable!()
    };
    assert!(m.starts_with("input is not JSON: "), "{m}");
}

#[test]
fn run_glue_passes_plugin_errors_through() {
    let e = __private::run::<Echo>("fail".into(), String::new()).unwrap_err();
    assert_eq!(e, Error::Declined("no".into()));
}

#[test]
fn trait_defaults_list_nothing_and_refuse_unknown_names() {
    assert!(Empty::prompts().is_empty());
    assert!(Empty::workflows().is_empty());
    assert_eq!(
        __private::run::<Empty>("x".into(), "{}".into()).unwrap_err(),
        Error::InvalidArgument("unknown workflow `x`".into())
    );
    assert_eq!(
        __private::render::<Empty>("p".into(), vec![]).unwrap_err(),
        Error::InvalidArgument("unknown prompt `p`".into())
    );
}

struct Greeter;
impl Plugin for Greeter {
    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        let who = args.require("who")?;
        Ok(vec![PromptMessage::user(format!(
            "{name}: hello {who}, {}",
            args.get_or("mood", "calm")
        ))])
    }
}

#[test]
fn render_glue_hands_the_arguments_to_the_plugin() {
    let m = __private::render::<Greeter>(
        "greet".into(),
        vec![("who".into(), "Ann".into()), ("mood".into(), String::new())],
    )
    .unwrap();
    assert_eq!(m, vec![PromptMessage::user("greet: hello Ann, calm")]);
    assert_eq!(
        __private::render::<Greeter>("greet".into(), vec![]).unwrap_err(),
        Error::InvalidArgument("argument `who` is required".into())
    );
}

#[test]
fn prompt_args_ignore_empty_values() {
    let a = PromptArgs::new(vec![
        ("symbol".into(), String::new()),
        ("symbol".into(), "MSFT".into()),
        ("days".into(), "30".into()),
        ("blank".into(), String::new()),
    ]);
    assert_eq!(a.get("symbol"), Some("MSFT"));
    assert_eq!(a.get("days"), Some("30"));
    assert_eq!(a.get("blank"), None);
    assert_eq!(a.get("missing"), None);
    assert_eq!(a.get_or("blank", "dflt"), "dflt");
    assert_eq!(a.get_or("days", "dflt"), "30");
    assert_eq!(a.require("days"), Ok("30"));
    assert_eq!(
        a.require("blank"),
        Err(Error::InvalidArgument(
            "argument `blank` is required".into()
        ))
    );
    let all: Vec<_> = a.iter().collect();
    assert_eq!(
        all,
        [
            ("symbol", ""),
            ("symbol", "MSFT"),
            ("days", "30"),
            ("blank", "")
        ]
    );
}

/// Every `Error` case with its stable code; the codes are the WIT case names.
fn all_errors() -> Vec<(Error, &'static str)> {
    vec![
        (Error::PermissionDenied("p".into()), "permission-denied"),
        (Error::GuardrailViolation("g".into()), "guardrail-violation"),
        (Error::NotConnected, "not-connected"),
        (Error::InvalidArgument("i".into()), "invalid-argument"),
        (
            Error::BrokerError(BrokerError {
                code: 200,
                message: "no security definition".into(),
            }),
            "broker-error",
        ),
        (Error::Timeout, "timeout"),
        (Error::Cancelled, "cancelled"),
        (Error::Declined("d".into()), "declined"),
        (Error::Failed("f".into()), "failed"),
    ]
}

#[test]
fn error_codes_are_the_wit_case_names() {
    let wit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/types.wit"))
        .unwrap();
    let body = wit
        .split("variant error {")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("variant error in types.wit");
    let cases: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| l.split(['(', ',']).next().unwrap())
        .collect();
    let codes: Vec<&str> = all_errors().iter().map(|(e, _)| e.code()).collect();
    assert_eq!(codes, cases);
    for (e, code) in all_errors() {
        assert_eq!(e.code(), code, "{e:?}");
    }
}

#[test]
fn error_constructors() {
    assert_eq!(Error::invalid("bad"), Error::InvalidArgument("bad".into()));
    assert_eq!(Error::failed("boom"), Error::Failed("boom".into()));
}

#[test]
fn wit_version_is_the_wit_package_version() {
    let wit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/plugin.wit"))
        .unwrap();
    assert!(
        wit.lines()
            .any(|l| l.trim() == format!("package ibkr:plugin@{WIT_VERSION};")),
        "plugin.wit does not declare ibkr:plugin@{WIT_VERSION}"
    );
}

#[test]
fn contract_constructors() {
    let s = Contract::stock("AAPL");
    assert_eq!(
        (
            s.symbol.as_str(),
            s.sec_type,
            s.exchange.as_str(),
            s.currency.as_str()
        ),
        ("AAPL", SecType::Stock, "SMART", "USD")
    );
    assert_eq!((s.con_id, s.strike, s.right), (0, None, None));
    assert!(s.combo_legs.is_empty());

    let o = Contract::option("SPY", "20260116", 450.0, OptionRight::Put);
    assert_eq!(o.sec_type, SecType::Option);
    assert_eq!(o.last_trade_date.as_deref(), Some("20260116"));
    assert_eq!(o.strike, Some(450.0));
    assert_eq!(o.right, Some(OptionRight::Put));
    assert_eq!(o.multiplier.as_deref(), Some("100"));

    let fx = Contract::forex("EUR.GBP");
    assert_eq!(
        (
            fx.symbol.as_str(),
            fx.currency.as_str(),
            fx.exchange.as_str(),
            fx.sec_type
        ),
        ("EUR", "GBP", "IDEALPRO", SecType::Forex)
    );
    let fx = Contract::forex("JPY");
    assert_eq!((fx.symbol.as_str(), fx.currency.as_str()), ("JPY", "USD"));

    let i = Contract::index("SPX", "CBOE");
    assert_eq!((i.sec_type, i.exchange.as_str()), (SecType::Index, "CBOE"));

    let leg = ComboLeg {
        con_id: 42,
        ratio: 1,
        action: Action::Buy,
        exchange: "SMART".into(),
    };
    let c = Contract::combo("SPY", vec![leg.clone()]);
    assert_eq!((c.sec_type, c.combo_legs), (SecType::Combo, vec![leg]));

    let s = Contract::stock("SAP")
        .with_currency("EUR")
        .with_exchange("IBIS");
    assert_eq!((s.currency.as_str(), s.exchange.as_str()), ("EUR", "IBIS"));
}

#[test]
fn order_constructors() {
    let m = Order::market(Action::Buy, 10.0);
    assert_eq!(
        (
            m.action,
            m.quantity,
            m.order_type,
            m.limit_price,
            m.stop_price
        ),
        (Action::Buy, 10.0, OrderType::Market, None, None)
    );
    assert_eq!((m.tif, m.outside_rth), (TimeInForce::Day, false));
    let l = Order::limit(Action::Sell, 5.0, 101.25);
    assert_eq!(
        (l.order_type, l.limit_price, l.stop_price),
        (OrderType::Limit, Some(101.25), None)
    );
    let s = Order::stop(Action::Sell, 5.0, 95.0)
        .with_tif(TimeInForce::Gtc)
        .with_ref("r1")
        .with_account("DU123");
    assert_eq!(
        (s.order_type, s.stop_price, s.limit_price),
        (OrderType::Stop, Some(95.0), None)
    );
    assert_eq!(s.tif, TimeInForce::Gtc);
    assert_eq!(s.order_ref.as_deref(), Some("r1"));
    assert_eq!(s.account.as_deref(), Some("DU123"));
}

#[test]
fn bracket_and_bars_requests() {
    let b = BracketRequest::new(Contract::stock("X"), Action::Buy, 3.0, None, 110.0, 95.0);
    assert_eq!(b.entry_price, None, "None = market entry");
    assert_eq!(
        (b.take_profit, b.stop_loss, b.tif),
        (110.0, 95.0, TimeInForce::Day)
    );
    assert_eq!(b.order_ref, None);
    let r = BarsRequest::daily(Contract::stock("X"), 90);
    assert_eq!(r.duration, Duration::Days(90));
    assert_eq!(r.bar_size, BarSize::Day1);
    assert_eq!(r.what_to_show, WhatToShow::Trades);
    assert!(r.use_rth);
    assert_eq!(r.end, None);
}

#[test]
fn action_reverse() {
    assert_eq!(Action::Buy.reverse(), Action::Sell);
    assert_eq!(Action::Sell.reverse(), Action::Buy);
}

#[test]
fn workflow_and_prompt_builders() {
    let schema = json!({"type": "object", "required": ["symbol"]});
    let w = Workflow::read_only("quote", "Quote", schema.clone()).with_title("Get quote");
    assert_eq!(w.access, Access::ReadOnly);
    assert_eq!(w.title.as_deref(), Some("Get quote"));
    assert_eq!(
        serde_json::from_str::<Value>(&w.input_schema).unwrap(),
        schema
    );
    assert_eq!(w.output_schema, None);
    let w = Workflow::destructive("buy", "Buy", json!({}))
        .with_output_schema(json!({"type": "object"}));
    assert_eq!(w.access, Access::Destructive);
    assert_eq!(w.output_schema.as_deref(), Some(r#"{"type":"object"}"#));

    let p = Prompt::new("brief", "A brief")
        .with_title("Brief")
        .arg("symbol", "Symbol", true, ArgumentKind::Symbol)
        .arg("days", "Days", false, ArgumentKind::Number);
    assert_eq!(p.title.as_deref(), Some("Brief"));
    let args: Vec<_> = p
        .arguments
        .iter()
        .map(|a| (a.name.as_str(), a.required, a.kind))
        .collect();
    assert_eq!(
        args,
        [
            ("symbol", true, ArgumentKind::Symbol),
            ("days", false, ArgumentKind::Number)
        ]
    );
    assert_eq!(PromptMessage::user("u").role, Role::User);
    assert_eq!(PromptMessage::assistant("a").role, Role::Assistant);
    assert_eq!(PromptMessage::assistant("a").text, "a");
}
