//! `execute_bracket_order`: entry, take-profit and stop-loss from explicit prices, percentages,
//! ATR multiples or R multiples; position sizing from a risk budget; tick rounding from the
//! contract's minimum tick; placed as a proper bracket (parent + take-profit + stop-loss, OCA)
//! through the `orders` capability after confirmation.

use ibkr_plugin_sdk::BracketStatus;
use ibkr_plugin_sdk::prelude::*;
use plugin_kit::{money, ohlc, pct, q_err};
use quant::bracket::{BracketInput, BracketPlan, Direction, Level, Sizing, plan_bracket};
use quant::indicators::{atr, last_value};
use serde::Deserialize;

const TOOLS: &str = "execute_bracket_order__";

struct Bracket;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Input {
    symbol: String,
    action: Option<String>,
    /// Limit entry price; default: the ask for buys, the bid for sells (last as fallback).
    entry_price: Option<f64>,
    /// `limit` (default) or `market`.
    entry_type: Option<String>,
    take_profit_price: Option<f64>,
    take_profit_pct: Option<f64>,
    take_profit_atr: Option<f64>,
    take_profit_r: Option<f64>,
    stop_loss_price: Option<f64>,
    stop_loss_pct: Option<f64>,
    stop_loss_atr: Option<f64>,
    atr_period: Option<usize>,
    quantity: Option<f64>,
    risk_amount: Option<f64>,
    risk_pct: Option<f64>,
    max_notional: Option<f64>,
    tif: Option<String>,
    account: Option<String>,
    execute: bool,
}

struct Planned {
    plan: BracketPlan,
    atr: Option<f64>,
    tick: f64,
    quote: Value,
    market_entry: bool,
}

fn direction(a: Option<&str>) -> Result<Direction, Error> {
    match a.unwrap_or("BUY").to_ascii_uppercase().as_str() {
        "BUY" | "LONG" => Ok(Direction::Buy),
        "SELL" | "SHORT" => Ok(Direction::Sell),
        other => Err(Error::invalid(format!(
            "action must be BUY or SELL, got {other}"
        ))),
    }
}

/// The stop-loss and take-profit levels the input asks for. Per level the first given of
/// price, percent, ATR multiple (and for the target R multiple) wins; defaults: stop 2 ATR,
/// target 2R.
fn exit_levels(input: &Input) -> (Level, Level) {
    let stop_loss = match (
        input.stop_loss_price,
        input.stop_loss_pct,
        input.stop_loss_atr,
    ) {
        (Some(p), _, _) => Level::Price(p),
        (None, Some(p), _) => Level::Percent(p),
        (None, None, Some(m)) => Level::AtrMultiple(m),
        (None, None, None) => Level::AtrMultiple(2.0),
    };
    let take_profit = match (
        input.take_profit_price,
        input.take_profit_pct,
        input.take_profit_atr,
        input.take_profit_r,
    ) {
        (Some(p), ..) => Level::Price(p),
        (None, Some(p), ..) => Level::Percent(p),
        (None, None, Some(m), _) => Level::AtrMultiple(m),
        (None, None, None, Some(r)) => Level::RiskMultiple(r),
        _ => Level::RiskMultiple(2.0),
    };
    (stop_loss, take_profit)
}

/// Whether to read the ATR (from daily bars): an ATR multiple is given, or the stop defaults
/// to 2 ATR.
fn needs_atr(input: &Input) -> bool {
    input.take_profit_atr.is_some()
        || input.stop_loss_atr.is_some()
        || (input.stop_loss_price.is_none() && input.stop_loss_pct.is_none())
}

fn plan(input: &Input) -> Result<Planned, Error> {
    let symbol = input.symbol.trim().to_ascii_uppercase();
    if symbol.is_empty() {
        return Err(Error::invalid("symbol is required"));
    }
    let dir = direction(input.action.as_deref())?;
    let contract = Contract::stock(&symbol);
    let q = market_data::quote(&contract)?;
    let market_entry = input
        .entry_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("market"));
    let side_price = match dir {
        Direction::Buy => q.ask,
        Direction::Sell => q.bid,
    }
    .filter(|p| *p > 0.0);
    let entry = input
        .entry_price
        .or(side_price)
        .or_else(|| plugin_kit::quote_price(&q))
        .ok_or_else(|| Error::failed(format!("no price for {symbol}")))?;
    let tick = market_data::contract_details(&contract)
        .ok()
        .and_then(|d| d.first().map(|d| d.min_tick))
        .filter(|t| *t > 0.0)
        .unwrap_or(0.01);
    let period = input.atr_period.unwrap_or(14).clamp(2, 100);
    let (stop_loss, take_profit) = exit_levels(input);
    let atr_value = if needs_atr(input) {
        let bars = plugin_kit::daily_bars(&symbol, (period as u32 * 3).max(60))?;
        atr(&ohlc(&bars), period).ok().and_then(|a| last_value(&a))
    } else {
        None
    };
    let account_value = if input.risk_pct.is_some() {
        account::summary(input.account.as_deref())
            .ok()
            .and_then(|s| s.net_liquidation)
    } else {
        None
    };
    let p = plan_bracket(&BracketInput {
        direction: dir,
        entry,
        take_profit,
        stop_loss,
        atr: atr_value,
        tick_size: tick,
        sizing: Sizing {
            quantity: input.quantity,
            risk_amount: input.risk_amount,
            risk_pct: input.risk_pct,
            account_value,
            max_notional: input.max_notional,
            lot_size: Some(1.0),
        },
    })
    .map_err(q_err)?;
    Ok(Planned {
        plan: p,
        atr: atr_value,
        tick,
        quote: json!({"bid": q.bid, "ask": q.ask, "last": q.last}),
        market_entry,
    })
}

fn plan_markdown(symbol: &str, p: &Planned) -> String {
    let b = &p.plan;
    let side = match b.direction {
        Direction::Buy => "BUY",
        Direction::Sell => "SELL",
    };
    let exit = match b.direction {
        Direction::Buy => "SELL",
        Direction::Sell => "BUY",
    };
    let mut s = format!(
        "# Bracket plan: {side} {qty} {symbol}\n\n| Leg | Order | Price | Distance |\n|---|---|---|---|\n| Parent | {side} {qty} {entry_kind} | {entry} | — |\n| Take-profit | {exit} {qty} LMT | {tp} | {tpd} |\n| Stop-loss | {exit} {qty} STP | {sl} | {sld} |\n\n- Risk per share {rps}, reward per share {wps}, **risk/reward 1 : {rr:.2}**\n- Max loss at the stop **{ml}**, gain at the target {mg}, entry notional {nt}\n- Tick size {tick}{atr}\n",
        qty = b.quantity,
        entry_kind = if p.market_entry { "MKT" } else { "LMT" },
        entry = money(b.entry),
        tp = money(b.take_profit),
        tpd = pct(b.target_distance_pct, 2),
        sl = money(b.stop_loss),
        sld = pct(b.stop_distance_pct, 2),
        rps = money(b.risk_per_share),
        wps = money(b.reward_per_share),
        rr = b.risk_reward,
        ml = money(b.max_loss),
        mg = money(b.max_gain),
        nt = money(b.notional),
        tick = p.tick,
        atr = p
            .atr
            .map(|a| format!("; ATR {}", money(a)))
            .unwrap_or_default(),
    );
    for n in &b.notes {
        s.push_str(&format!("- {n}\n"));
    }
    if b.risk_reward < 1.5 {
        s.push_str("- ⚠ risk/reward below 1.5: consider a wider target or a tighter stop\n");
    }
    s
}

fn status_json(s: &BracketStatus) -> Value {
    let one = |o: &ibkr_plugin_sdk::OrderStatus| {
        json!({"order_id": o.order_id, "state": format!("{:?}", o.state), "filled": o.filled,
               "remaining": o.remaining, "avg_fill_price": o.avg_fill_price, "message": o.message})
    };
    json!({"parent": one(&s.parent), "take_profit": one(&s.take_profit), "stop_loss": one(&s.stop_loss)})
}

/// Time in force of the bracket: DAY (default) or GTC.
fn time_in_force(tif: Option<&str>) -> Result<TimeInForce, Error> {
    match tif.map(str::to_ascii_uppercase).as_deref() {
        None | Some("DAY") => Ok(TimeInForce::Day),
        Some("GTC") => Ok(TimeInForce::Gtc),
        Some(other) => Err(Error::invalid(format!(
            "tif must be DAY or GTC, got {other}"
        ))),
    }
}

fn run(name: &str, input: Input) -> Result<Value, Error> {
    let symbol = input.symbol.trim().to_ascii_uppercase();
    // Checked before planning, so a bad value never gets as far as the user's confirmation.
    let tif = time_in_force(input.tif.as_deref())?;
    let p = plan(&input)?;
    let mut md = plan_markdown(&symbol, &p);
    let data = json!({"symbol": symbol, "plan": p.plan, "atr": p.atr, "tick_size": p.tick, "quote": p.quote});
    if name == "plan" || !input.execute {
        if name == "place" {
            md.push_str(&format!(
                "\n**Dry run.** Call `{TOOLS}place` with `\"execute\": true` to submit the bracket (you will be asked to confirm).\n"
            ));
        }
        return Ok(plugin_kit::report(
            md,
            json!({"status": "planned", "bracket": data}),
        ));
    }
    let b = &p.plan;
    let action = match b.direction {
        Direction::Buy => Action::Buy,
        Direction::Sell => Action::Sell,
    };
    let question = format!(
        "Place bracket: {:?} {} {} @ {} (TP {}, SL {}), max loss {}?",
        action,
        b.quantity,
        symbol,
        if p.market_entry {
            "MKT".to_string()
        } else {
            money(b.entry)
        },
        money(b.take_profit),
        money(b.stop_loss),
        money(b.max_loss)
    );
    let confirmation = plugin_kit::confirm_order(&question)?;
    if !confirmation.proceed() {
        md.push_str("\n**Declined.** Nothing was placed.\n");
        return Ok(plugin_kit::report(
            md,
            json!({"status": "declined", "bracket": data}),
        ));
    }
    let mut req = BracketRequest::new(
        Contract::stock(&symbol),
        action,
        b.quantity,
        if p.market_entry { None } else { Some(b.entry) },
        b.take_profit,
        b.stop_loss,
    );
    req.order_ref = Some("execute_bracket_order".into());
    req.tif = tif;
    let st = orders::bracket_in_account(&req, input.account.as_deref())?;
    md.push_str(&format!(
        "\n## Placed ({})\n\n- Parent order {} ({:?})\n- Take-profit order {} ({:?})\n- Stop-loss order {} ({:?})\n\nThe children are OCA-linked: when one fills, the other is cancelled.\n",
        confirmation.describe(),
        st.parent.order_id, st.parent.state, st.take_profit.order_id, st.take_profit.state,
        st.stop_loss.order_id, st.stop_loss.state
    ));
    Ok(plugin_kit::report(
        md,
        json!({"status": "placed", "confirmation": confirmation.describe(), "bracket": data, "orders": status_json(&st)}),
    ))
}

fn schema(with_execute: bool) -> Value {
    let mut s = json!({
        "type": "object",
        "properties": {
            "symbol": {"type": "string", "description": "Stock/ETF symbol"},
            "action": {"type": "string", "enum": ["BUY", "SELL"], "default": "BUY"},
            "entry_price": {"type": "number", "description": "Limit entry (default: ask for BUY, bid for SELL)"},
            "entry_type": {"type": "string", "enum": ["limit", "market"], "default": "limit"},
            "take_profit_price": {"type": "number"},
            "take_profit_pct": {"type": "number", "description": "Distance from entry, 0.06 = 6%"},
            "take_profit_atr": {"type": "number", "description": "Distance in ATR multiples"},
            "take_profit_r": {"type": "number", "description": "Distance in multiples of the stop distance (default 2)"},
            "stop_loss_price": {"type": "number"},
            "stop_loss_pct": {"type": "number", "description": "Distance from entry, 0.03 = 3%"},
            "stop_loss_atr": {"type": "number", "description": "Distance in ATR multiples (default 2)"},
            "atr_period": {"type": "integer", "default": 14},
            "quantity": {"type": "number", "description": "Shares; otherwise sized from the risk budget"},
            "risk_amount": {"type": "number", "description": "Max loss at the stop in currency"},
            "risk_pct": {"type": "number", "description": "Max loss at the stop as a fraction of net liquidation (0.01 = 1%)"},
            "max_notional": {"type": "number", "description": "Cap on the entry notional"},
            "tif": {"type": "string", "enum": ["DAY", "GTC"], "default": "DAY"},
            "account": {"type": "string"}
        },
        "required": ["symbol"]
    });
    if with_execute {
        s["properties"]["execute"] = json!({"type": "boolean", "default": false, "description": "Submit the bracket after user confirmation; false = dry run"});
    }
    s
}

impl Plugin for Bracket {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "execute_bracket_order",
                "Guided bracket order: entry with an automatic take-profit and stop-loss (from prices, % or ATR), sized from a risk budget, placed as parent + 2 OCA children",
            )
            .with_title("Execute bracket order")
            .arg("symbol", "Stock/ETF symbol", true, ArgumentKind::Symbol)
            .arg("action", "BUY (default) or SELL", false, ArgumentKind::Text)
            .arg("risk_amount", "Maximum loss at the stop in USD (default 1% of net liquidation)", false, ArgumentKind::Number)
            .arg("stop_atr", "Stop distance in ATR multiples (default 2)", false, ArgumentKind::Number)
            .arg("reward_risk", "Target as a multiple of the risk (default 2)", false, ArgumentKind::Number),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "execute_bracket_order" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let symbol = args.require("symbol")?.to_ascii_uppercase();
        let action = args.get_or("action", "BUY").to_ascii_uppercase();
        let stop_atr: f64 = args.get_or("stop_atr", "2").parse().unwrap_or(2.0);
        let rr: f64 = args.get_or("reward_risk", "2").parse().unwrap_or(2.0);
        let mut call = json!({"symbol": symbol, "action": action, "stop_loss_atr": stop_atr, "take_profit_r": rr});
        match args.get("risk_amount").and_then(|r| r.parse::<f64>().ok()) {
            Some(r) => call["risk_amount"] = json!(r),
            None => call["risk_pct"] = json!(0.01),
        }
        let input: Input = serde_json::from_value(call.clone()).unwrap_or_default();
        let live = match plan(&input) {
            Ok(p) => plan_markdown(&symbol, &p).replacen("# ", "## Live plan — ", 1),
            Err(e) => format!(
                "## Live plan\n\n_Not available right now ({}); call the tool below._\n",
                e.code()
            ),
        };
        let text = format!(
            r#"# Bracket order for {symbol}

Help me enter {action} {symbol} with a bracket: a parent entry order plus an OCA-linked
take-profit limit and stop-loss stop, sized so that a stop-out loses no more than my risk budget.

{live}
## Workflow

1. Call `{TOOLS}plan` with `{call}`. It reads the live quote, the contract's minimum tick and
   ATR({atr}) from daily bars, and returns entry, take-profit, stop-loss, quantity, risk/reward.
2. Sanity-check with me: is the stop beyond recent noise (≥ 1.5 ATR)? Is risk/reward ≥ 1.5? Is the
   notional reasonable for the account? Is there an earnings date or event risk before the exit?
3. Adjust if I ask (explicit prices via `take_profit_price`/`stop_loss_price`, percentages via
   `*_pct`, ATR via `*_atr`, quantity via `quantity`, `risk_amount` or `risk_pct`).
4. Only after my explicit go-ahead call `{TOOLS}place` with the same arguments plus
   `"execute": true`. The host asks me to confirm and applies its guardrails and audit log.
5. Report the three order ids and states; remind me that the children are OCA (one cancels the
   other) and that a DAY bracket expires at the close unless `tif` is GTC.
"#,
            atr = 14
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "plan",
                "Plan a bracket from live data: entry (quote or given), take-profit and stop-loss from prices, % or ATR multiples (default stop 2 ATR, target 2R), tick rounding, risk/reward and position size from a risk budget. Places nothing.",
                schema(false),
            )
            .with_title("Bracket: plan"),
            Workflow::destructive(
                "place",
                "Plan and, with execute=true and the user's confirmation, place the bracket as parent + take-profit limit + stop-loss stop (OCA children)",
                schema(true),
            )
            .with_title("Bracket: place"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "plan" | "place" => run(name, parse_input(input)?),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Bracket);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Input {
        parse_input(v).unwrap()
    }

    #[test]
    fn direction_accepts_buy_sell_long_short_in_any_case() {
        assert_eq!(direction(None), Ok(Direction::Buy));
        for (a, d) in [
            ("buy", Direction::Buy),
            ("LONG", Direction::Buy),
            ("Sell", Direction::Sell),
            ("short", Direction::Sell),
        ] {
            assert_eq!(direction(Some(a)), Ok(d), "{a}");
        }
        assert_eq!(
            direction(Some("hold")),
            Err(Error::InvalidArgument(
                "action must be BUY or SELL, got HOLD".into()
            ))
        );
    }

    #[test]
    fn default_levels_are_2_atr_stop_and_2r_target() {
        let i = input(json!({"symbol": "X"}));
        assert_eq!(
            exit_levels(&i),
            (Level::AtrMultiple(2.0), Level::RiskMultiple(2.0))
        );
        assert!(needs_atr(&i));
    }

    #[test]
    fn price_beats_percent_beats_atr_beats_r() {
        let all = json!({
            "symbol": "X",
            "stop_loss_price": 95.0, "stop_loss_pct": 0.03, "stop_loss_atr": 1.5,
            "take_profit_price": 120.0, "take_profit_pct": 0.06, "take_profit_atr": 3.0, "take_profit_r": 4.0,
        });
        assert_eq!(
            exit_levels(&input(all.clone())),
            (Level::Price(95.0), Level::Price(120.0))
        );
        let mut v = all;
        let o = v.as_object_mut().unwrap();
        o.remove("stop_loss_price");
        o.remove("take_profit_price");
        assert_eq!(
            exit_levels(&input(v.clone())),
            (Level::Percent(0.03), Level::Percent(0.06))
        );
        let o = v.as_object_mut().unwrap();
        o.remove("stop_loss_pct");
        o.remove("take_profit_pct");
        assert_eq!(
            exit_levels(&input(v.clone())),
            (Level::AtrMultiple(1.5), Level::AtrMultiple(3.0))
        );
        v.as_object_mut().unwrap().remove("take_profit_atr");
        assert_eq!(exit_levels(&input(v)).1, Level::RiskMultiple(4.0));
    }

    #[test]
    fn atr_is_read_only_when_an_atr_level_is_asked_for() {
        let no = [
            json!({"symbol": "X", "stop_loss_price": 95.0}),
            json!({"symbol": "X", "stop_loss_pct": 0.02, "take_profit_r": 3.0}),
            json!({"symbol": "X", "stop_loss_pct": 0.02, "take_profit_price": 120.0}),
        ];
        for v in no {
            assert!(!needs_atr(&input(v.clone())), "{v}");
        }
        let yes = [
            json!({"symbol": "X", "take_profit_price": 120.0}),
            json!({"symbol": "X", "stop_loss_pct": 0.02, "take_profit_atr": 2.0}),
            json!({"symbol": "X", "stop_loss_atr": 1.0}),
        ];
        for v in yes {
            assert!(needs_atr(&input(v.clone())), "{v}");
        }
    }

    #[test]
    fn time_in_force_is_day_or_gtc() {
        assert_eq!(time_in_force(None), Ok(TimeInForce::Day));
        assert_eq!(time_in_force(Some("day")), Ok(TimeInForce::Day));
        assert_eq!(time_in_force(Some("Gtc")), Ok(TimeInForce::Gtc));
        assert_eq!(
            time_in_force(Some("ioc")),
            Err(Error::InvalidArgument(
                "tif must be DAY or GTC, got IOC".into()
            ))
        );
    }

    /// These inputs are refused before any host call (natively a host call would panic).
    #[test]
    fn invalid_inputs_are_refused_before_touching_the_broker() {
        let cases = [
            (json!({"symbol": "  "}), "symbol is required"),
            (
                json!({"symbol": "AAPL", "action": "hold"}),
                "action must be BUY or SELL, got HOLD",
            ),
            (
                json!({"symbol": "AAPL", "tif": "IOC", "execute": true}),
                "tif must be DAY or GTC, got IOC",
            ),
        ];
        for (v, msg) in cases {
            for name in ["plan", "place"] {
                assert_eq!(
                    Bracket::run_workflow(name, v.clone()).unwrap_err(),
                    Error::InvalidArgument(msg.into()),
                    "{name} {v}"
                );
            }
        }
        assert_eq!(
            Bracket::run_workflow("place", json!({"symbol": 5}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            Bracket::run_workflow("cancel", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `cancel`".into())
        );
    }

    #[test]
    fn only_place_is_destructive_and_only_it_has_execute() {
        let w = Bracket::workflows();
        assert_eq!(
            w.iter()
                .map(|w| (w.name.as_str(), w.access))
                .collect::<Vec<_>>(),
            [("plan", Access::ReadOnly), ("place", Access::Destructive)]
        );
        let schema = |i: usize| serde_json::from_str::<Value>(&w[i].input_schema).unwrap();
        assert_eq!(schema(0)["properties"]["execute"], Value::Null);
        assert_eq!(schema(1)["properties"]["execute"]["default"], false);
        assert_eq!(schema(1)["required"], json!(["symbol"]));
    }

    #[test]
    fn prompt_needs_a_symbol() {
        assert_eq!(
            Bracket::render_prompt("execute_bracket_order", &PromptArgs::default()).unwrap_err(),
            Error::InvalidArgument("argument `symbol` is required".into())
        );
        assert_eq!(
            Bracket::render_prompt("x", &PromptArgs::default()).unwrap_err(),
            Error::InvalidArgument("unknown prompt `x`".into())
        );
    }
}
