//! `execute_options_strategy`: covered call, protective put, collar and vertical spreads chosen
//! from the live option chain (expiry by days to expiry, strikes by delta, % OTM or strike),
//! with max profit / max loss / breakevens / net debit or credit, optionally placed as a combo
//! (BAG) order — or as individual legs when the combo is refused, which the output says.

use ibkr_plugin_sdk::prelude::*;
use ibkr_plugin_sdk::{ComboLeg, OptionRight};
use plugin_kit::{money, q_err, table};
use quant::options::{
    Instrument, OptionQuote, Right, Strategy, StrategyPlan, StrategyRequest, StrikeRule,
    build_strategy, days_to_expiry, fill_greeks,
};
use serde::Deserialize;

const TOOLS: &str = "execute_options_strategy__";

struct Options;

#[derive(Deserialize)]
#[serde(default)]
struct Input {
    symbol: String,
    strategy: String,
    contracts: f64,
    target_dte: i64,
    min_dte: i64,
    max_dte: i64,
    /// Rule for the first leg (short call of a covered call, put of a protective put/collar,
    /// long leg of a debit vertical, short leg of a credit vertical).
    primary: Option<StrikeRule>,
    /// Rule for the second leg (call of a collar, the other leg of a vertical).
    secondary: Option<StrikeRule>,
    /// Risk-free rate for implied vol / delta (default 0.04).
    rate: f64,
    /// Strikes quoted on each side of spot (default 12).
    strikes_each_side: usize,
    account: Option<String>,
    execute: bool,
    /// Try a combo (BAG) order first (default true).
    combo: bool,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            symbol: String::new(),
            strategy: "covered_call".into(),
            contracts: 1.0,
            target_dte: 30,
            min_dte: 7,
            max_dte: 75,
            primary: None,
            secondary: None,
            rate: 0.04,
            strikes_each_side: 12,
            account: None,
            execute: false,
            combo: true,
        }
    }
}

fn default_rules(s: Strategy) -> (StrikeRule, StrikeRule) {
    use StrikeRule::Delta;
    match s {
        Strategy::CoveredCall => (Delta(0.30), Delta(0.30)),
        Strategy::ProtectivePut => (Delta(0.30), Delta(0.30)),
        Strategy::Collar => (Delta(0.25), Delta(0.25)),
        Strategy::BullCallSpread => (Delta(0.50), Delta(0.25)),
        Strategy::BearPutSpread => (Delta(0.50), Delta(0.25)),
        Strategy::BullPutSpread => (Delta(0.30), Delta(0.15)),
        Strategy::BearCallSpread => (Delta(0.30), Delta(0.15)),
    }
}

fn wit_right(r: Right) -> OptionRight {
    match r {
        Right::Call => OptionRight::Call,
        Right::Put => OptionRight::Put,
    }
}

/// The expiry closest to `target_dte` inside `[min_dte, max_dte]` (the earlier listed one on a
/// tie), with its days to expiry; unparsable expirations are skipped.
fn choose_expiry(expirations: &[String], today: i64, input: &Input) -> Option<(String, i64)> {
    let mut best: Option<(String, i64)> = None;
    for e in expirations {
        let Ok(d) = days_to_expiry(e, today) else {
            continue;
        };
        if d < input.min_dte || d > input.max_dte {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|(_, bd)| (d - input.target_dte).abs() < (bd - input.target_dte).abs());
        if better {
            best = Some((e.clone(), d));
        }
    }
    best
}

/// The `2 * each_side` strikes nearest to spot (`each_side` clamped to 2..=40), ascending.
fn strikes_near(strikes: &[f64], spot: f64, each_side: usize) -> Vec<f64> {
    let mut strikes = strikes.to_vec();
    strikes.sort_by(|a, b| (a - spot).abs().total_cmp(&(b - spot).abs()));
    strikes.truncate(each_side.clamp(2, 40) * 2);
    strikes.sort_by(f64::total_cmp);
    strikes
}

/// The option rights a strategy trades.
fn rights_of(strategy: Strategy) -> &'static [Right] {
    match strategy {
        Strategy::CoveredCall | Strategy::BullCallSpread | Strategy::BearCallSpread => {
            &[Right::Call]
        }
        Strategy::ProtectivePut | Strategy::BullPutSpread | Strategy::BearPutSpread => {
            &[Right::Put]
        }
        Strategy::Collar => &[Right::Call, Right::Put],
    }
}

struct Planned {
    symbol: String,
    spot: f64,
    expiry: String,
    dte: i64,
    trading_class: Option<String>,
    plan: StrategyPlan,
}

fn plan(input: &Input) -> Result<Planned, Error> {
    let symbol = input.symbol.trim().to_ascii_uppercase();
    if symbol.is_empty() {
        return Err(Error::invalid("symbol is required"));
    }
    let strategy = Strategy::parse(&input.strategy).map_err(q_err)?;
    let underlying = Contract::stock(&symbol);
    let uq = market_data::quote(&underlying)?;
    let spot = plugin_kit::quote_price(&uq)
        .ok_or_else(|| Error::failed(format!("no price for {symbol}")))?;
    let today = if uq.timestamp_ms > 0 {
        uq.timestamp_ms.div_euclid(86_400_000)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| (d.as_secs() / 86_400) as i64)
            .unwrap_or(0)
    };
    let chain = &plugin_kit::option_chain_of(&symbol)?;
    let (expiry, dte) = choose_expiry(&chain.expirations, today, input).ok_or_else(|| {
        Error::invalid(format!(
            "no {symbol} expiry between {} and {} days (have {})",
            input.min_dte,
            input.max_dte,
            chain.expirations.join(", ")
        ))
    })?;
    let strikes = strikes_near(&chain.strikes, spot, input.strikes_each_side);
    let mut contracts = Vec::new();
    for r in rights_of(strategy) {
        for k in &strikes {
            let mut c = Contract::option(&symbol, &expiry, *k, wit_right(*r));
            c.trading_class = Some(chain.trading_class.clone()).filter(|t| !t.is_empty());
            contracts.push((c, *r, *k));
        }
    }
    host::check_cancelled()?;
    let quotes = market_data::quotes(&contracts.iter().map(|c| c.0.clone()).collect::<Vec<_>>())?;
    let mut book: Vec<OptionQuote> = contracts
        .iter()
        .zip(&quotes)
        .map(|((_, r, k), q)| OptionQuote {
            expiry: expiry.clone(),
            dte,
            strike: *k,
            right: *r,
            bid: q.bid,
            ask: q.ask,
            last: q.last,
            delta: None,
            implied_vol: None,
        })
        .collect();
    fill_greeks(&mut book, spot, input.rate);
    let shares_held = if strategy.uses_stock() {
        account::positions(input.account.as_deref())
            .map(|ps| {
                ps.iter()
                    .filter(|p| {
                        p.contract.symbol == symbol && p.contract.sec_type == SecType::Stock
                    })
                    .map(|p| p.quantity)
                    .sum()
            })
            .unwrap_or(0.0)
    } else {
        0.0
    };
    let (dp, ds) = default_rules(strategy);
    let plan = build_strategy(
        &book,
        &StrategyRequest {
            strategy,
            spot,
            contracts: input.contracts.max(1.0).floor(),
            expiry: expiry.clone(),
            primary: input.primary.unwrap_or(dp),
            secondary: input.secondary.unwrap_or(ds),
            shares_held,
            stock_basis: None,
            contract_multiplier: chain.multiplier.parse().unwrap_or(100.0),
        },
    )
    .map_err(q_err)?;
    Ok(Planned {
        symbol,
        spot,
        expiry,
        dte,
        trading_class: Some(chain.trading_class.clone()).filter(|t| !t.is_empty()),
        plan,
    })
}

fn unlimited(x: Option<f64>) -> String {
    x.map(money).unwrap_or_else(|| "unlimited".into())
}

fn plan_markdown(p: &Planned) -> String {
    let s = &p.plan.summary;
    let rows: Vec<Vec<String>> = p
        .plan
        .legs
        .iter()
        .map(|l| {
            let (what, delta) = match l.instrument {
                Instrument::Stock => (format!("{} stock", p.symbol), String::new()),
                Instrument::Option { right, strike } => {
                    let d = p
                        .plan
                        .contracts
                        .iter()
                        .find(|c| c.right == right && c.strike == strike)
                        .and_then(|c| c.delta)
                        .map(|d| format!("{d:.2}"))
                        .unwrap_or_default();
                    (
                        format!("{} {} {:?} {}", p.symbol, p.expiry, right, strike),
                        d,
                    )
                }
            };
            vec![
                if l.quantity > 0.0 { "BUY" } else { "SELL" }.into(),
                format!("{}", l.quantity.abs()),
                what,
                money(l.price),
                delta,
                if l.existing { "held" } else { "to trade" }.into(),
            ]
        })
        .collect();
    let mut md = format!(
        "# {:?} on {} (spot {}, expiry {} = {} days)\n\n{}\n",
        p.plan.strategy,
        p.symbol,
        money(p.spot),
        p.expiry,
        p.dte,
        table(
            &["Side", "Qty", "Contract", "Price (mid)", "Delta", "Status"],
            &rows
        )
    );
    md.push_str(&format!(
        "- Net option premium: **{}** ({})\n- Max profit: **{}**\n- Max loss: **{}**\n- Breakeven(s) at expiry: {}\n",
        money(s.net_debit.abs()),
        if s.net_debit > 0.0 { "debit" } else { "credit" },
        unlimited(s.max_profit),
        unlimited(s.max_loss),
        if s.breakevens.is_empty() {
            "none".to_string()
        } else {
            s.breakevens.iter().map(|b| money(*b)).collect::<Vec<_>>().join(", ")
        }
    ));
    for n in &p.plan.notes {
        md.push_str(&format!("- {n}\n"));
    }
    md
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn place(p: &Planned, input: &Input) -> Result<Value, Error> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let with_account = |o: Order| match input.account.as_deref() {
        Some(a) => o.with_account(a),
        None => o,
    };
    // Stock leg first when the shares are not held yet.
    for l in p
        .plan
        .legs
        .iter()
        .filter(|l| matches!(l.instrument, Instrument::Stock) && !l.existing)
    {
        let action = if l.quantity > 0.0 {
            Action::Buy
        } else {
            Action::Sell
        };
        let st = orders::place(
            &Contract::stock(&p.symbol),
            &with_account(
                Order::market(action, l.quantity.abs()).with_ref("execute_options_strategy"),
            ),
        )?;
        out.push(
            json!({"leg": "stock", "order_id": st.order_id, "state": format!("{:?}", st.state)}),
        );
    }
    let option_legs: Vec<_> = p
        .plan
        .legs
        .iter()
        .filter_map(|l| match l.instrument {
            Instrument::Option { right, strike } => Some((l, right, strike)),
            Instrument::Stock => None,
        })
        .collect();
    let contract_of = |right: Right, strike: f64| {
        let mut c = Contract::option(&p.symbol, &p.expiry, strike, wit_right(right));
        c.trading_class = p.trading_class.clone();
        c
    };
    let mut placed_as = "legs";
    if option_legs.len() > 1 && input.combo {
        // Resolve con ids for the BAG legs.
        let mut legs = Vec::new();
        let mut resolved = true;
        for (l, right, strike) in &option_legs {
            match market_data::contract_details(&contract_of(*right, *strike)) {
                Ok(d) if !d.is_empty() && d[0].contract.con_id != 0 => legs.push(ComboLeg {
                    con_id: d[0].contract.con_id,
                    ratio: 1,
                    action: if l.quantity > 0.0 {
                        Action::Buy
                    } else {
                        Action::Sell
                    },
                    exchange: "SMART".into(),
                }),
                _ => {
                    resolved = false;
                    break;
                }
            }
        }
        if resolved {
            // Per-spread net price: positive = debit (BUY the combo at this limit).
            let per_spread: f64 = option_legs
                .iter()
                .map(|(l, ..)| l.quantity.signum() * l.price)
                .sum();
            let qty = option_legs[0].0.quantity.abs();
            let combo = Contract::combo(&p.symbol, legs);
            let order = with_account(
                Order::limit(Action::Buy, qty, round_cents(per_spread))
                    .with_ref("execute_options_strategy"),
            );
            match orders::place(&combo, &order) {
                Ok(st) => {
                    placed_as = "combo";
                    out.push(json!({"leg": "combo", "order_id": st.order_id, "state": format!("{:?}", st.state), "limit": round_cents(per_spread)}));
                }
                // Declines and missing permissions stop; a refused combo (BAG not an allowed
                // security type, or unsupported by the broker) falls back to the legs, each of
                // which passes the guardrails on its own.
                Err(e @ (Error::Declined(_) | Error::PermissionDenied(_))) => {
                    return Err(e);
                }
                Err(e) => notes.push(format!(
                    "combo (BAG) order refused ({}: {e:?}); placed the legs individually instead",
                    e.code()
                )),
            }
        } else {
            notes.push(
                "could not resolve contract ids for a combo; placed the legs individually".into(),
            );
        }
    }
    if placed_as == "legs" {
        for (l, right, strike) in &option_legs {
            let action = if l.quantity > 0.0 {
                Action::Buy
            } else {
                Action::Sell
            };
            let contract = contract_of(*right, *strike);
            // US equity options trade in $0.05 at or above $3 and $0.01 below (the market
            // rule); contract details only report the finest tick, so take the coarser one.
            let rule_tick = if l.price >= 3.0 { 0.05 } else { 0.01 };
            let tick = market_data::contract_details(&contract)
                .ok()
                .and_then(|d| d.first().map(|d| d.min_tick))
                .filter(|t| *t > 0.0)
                .map_or(rule_tick, |t| t.max(rule_tick));
            let limit = quant::round_to_tick(l.price, tick).max(tick);
            let st = orders::place(
                &contract,
                &with_account(
                    Order::limit(action, l.quantity.abs(), limit)
                        .with_ref("execute_options_strategy"),
                ),
            )?;
            out.push(json!({"leg": format!("{:?} {}", right, strike), "order_id": st.order_id, "state": format!("{:?}", st.state)}));
        }
        if option_legs.len() > 1 {
            notes.push("legs were sent separately: until all fill, the position is exposed to legging risk".into());
        }
    }
    Ok(json!({"placed_as": placed_as, "orders": out, "notes": notes}))
}

fn run(name: &str, input: Input) -> Result<Value, Error> {
    let p = plan(&input)?;
    let mut md = plan_markdown(&p);
    let data = json!({
        "symbol": p.symbol, "spot": p.spot, "expiry": p.expiry, "dte": p.dte,
        "strategy": p.plan.strategy, "legs": p.plan.legs, "contracts": p.plan.contracts,
        "summary": p.plan.summary, "notes": p.plan.notes,
    });
    if name == "plan" || !input.execute {
        if name == "place" {
            md.push_str(&format!(
                "\n**Dry run.** Call `{TOOLS}place` with `\"execute\": true` to submit (you will be asked to confirm).\n"
            ));
        }
        return Ok(plugin_kit::report(
            md,
            json!({"status": "planned", "strategy": data}),
        ));
    }
    let question = format!(
        "Place {:?} on {} ({} legs, expiry {}), max loss {}?",
        p.plan.strategy,
        p.symbol,
        p.plan.legs.iter().filter(|l| !l.existing).count(),
        p.expiry,
        unlimited(p.plan.summary.max_loss)
    );
    let confirmation = plugin_kit::confirm_order(&question)?;
    if !confirmation.proceed() {
        md.push_str("\n**Declined.** Nothing was placed.\n");
        return Ok(plugin_kit::report(
            md,
            json!({"status": "declined", "strategy": data}),
        ));
    }
    let placed = place(&p, &input)?;
    md.push_str(&format!(
        "\n## Placed as {} ({})\n\n",
        placed["placed_as"].as_str().unwrap_or("legs"),
        confirmation.describe()
    ));
    for o in placed["orders"].as_array().into_iter().flatten() {
        md.push_str(&format!(
            "- {} → order {} ({})\n",
            o["leg"], o["order_id"], o["state"]
        ));
    }
    for n in placed["notes"].as_array().into_iter().flatten() {
        md.push_str(&format!("- {}\n", n.as_str().unwrap_or("")));
    }
    Ok(plugin_kit::report(
        md,
        json!({"status": "placed", "confirmation": confirmation.describe(), "strategy": data, "execution": placed}),
    ))
}

fn schema(with_execute: bool) -> Value {
    let rule = json!({
        "type": "object",
        "properties": {
            "by": {"type": "string", "enum": ["delta", "percent_otm", "strike"]},
            "value": {"type": "number"}
        },
        "required": ["by", "value"]
    });
    let mut s = json!({
        "type": "object",
        "properties": {
            "symbol": {"type": "string", "description": "Underlying, e.g. SPY"},
            "strategy": {"type": "string", "enum": ["covered_call", "protective_put", "collar", "bull_call_spread", "bear_put_spread", "bull_put_spread", "bear_call_spread"]},
            "contracts": {"type": "integer", "minimum": 1, "default": 1},
            "target_dte": {"type": "integer", "default": 30, "description": "Preferred days to expiry"},
            "min_dte": {"type": "integer", "default": 7},
            "max_dte": {"type": "integer", "default": 75},
            "primary": rule.clone(),
            "secondary": rule,
            "rate": {"type": "number", "default": 0.04, "description": "Risk-free rate for implied vol and delta"},
            "strikes_each_side": {"type": "integer", "default": 12},
            "account": {"type": "string"}
        },
        "required": ["symbol", "strategy"]
    });
    if with_execute {
        s["properties"]["execute"] = json!({"type": "boolean", "default": false, "description": "Place after user confirmation; false = dry run"});
        s["properties"]["combo"] = json!({"type": "boolean", "default": true, "description": "Try one combo (BAG) order before individual legs"});
    }
    s
}

impl Plugin for Options {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "execute_options_strategy",
                "Guided options strategy from the live chain: covered call, protective put, collar or vertical spread with strikes by delta, max profit/loss and breakevens, optionally placed as a combo",
            )
            .with_title("Execute options strategy")
            .arg("symbol", "Underlying symbol, e.g. SPY", true, ArgumentKind::Symbol)
            .arg("strategy", "covered_call | protective_put | collar | bull_call_spread | bear_put_spread | bull_put_spread | bear_call_spread", true, ArgumentKind::Text)
            .arg("target_dte", "Preferred days to expiry (default 30)", false, ArgumentKind::Number)
            .arg("contracts", "Number of contracts (default 1)", false, ArgumentKind::Number),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "execute_options_strategy" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let symbol = args.require("symbol")?.to_ascii_uppercase();
        let strategy = Strategy::parse(args.require("strategy")?).map_err(q_err)?;
        let dte: i64 = args.get_or("target_dte", "30").parse().unwrap_or(30);
        let contracts: f64 = args.get_or("contracts", "1").parse().unwrap_or(1.0);
        let strategy_name = serde_json::to_value(strategy)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let call = json!({"symbol": symbol, "strategy": strategy_name, "target_dte": dte, "contracts": contracts});
        let input = Input {
            symbol: symbol.clone(),
            strategy: strategy_name.clone(),
            target_dte: dte,
            contracts,
            ..Input::default()
        };
        let live = match plan(&input) {
            Ok(p) => plan_markdown(&p).replacen("# ", "## Live proposal — ", 1),
            Err(e) => format!(
                "## Live proposal\n\n_Not available right now ({}); call the tool below._\n",
                e.code()
            ),
        };
        let guide = match strategy {
            Strategy::CoveredCall => {
                "Income on shares I hold: sell an OTM call (~0.30 delta). Upside is capped at the strike plus the premium; downside is the stock's, cushioned by the premium. Check I hold 100 shares per contract."
            }
            Strategy::ProtectivePut => {
                "Insurance: buy a put (~0.30 delta) against shares. Max loss is capped at (cost - strike + premium); upside stays open. Compare the premium with the protection's value."
            }
            Strategy::Collar => {
                "Hedge at low cost: buy a put (~0.25 delta) financed by selling a call (~0.25 delta). Losses and gains are both bounded; aim for a near-zero net premium."
            }
            Strategy::BullCallSpread => {
                "Defined-risk bullish debit spread: buy a ~0.50 delta call, sell a ~0.25 delta call. Max loss = debit; max profit = width - debit."
            }
            Strategy::BearPutSpread => {
                "Defined-risk bearish debit spread: buy a ~0.50 delta put, sell a ~0.25 delta put. Max loss = debit; max profit = width - debit."
            }
            Strategy::BullPutSpread => {
                "Bullish credit spread: sell a ~0.30 delta put, buy a ~0.15 delta put below it. Max profit = credit; max loss = width - credit."
            }
            Strategy::BearCallSpread => {
                "Bearish credit spread: sell a ~0.30 delta call, buy a ~0.15 delta call above it. Max profit = credit; max loss = width - credit."
            }
        };
        let text = format!(
            r#"# Options strategy: {strategy_name} on {symbol}

{guide}

{live}
## Workflow

1. Call `{TOOLS}plan` with `{call}`. It reads spot, the option chain and live option quotes,
   picks the expiry closest to {dte} days and the strikes by delta (implied vol and delta are
   computed from the mid prices with Black-Scholes), and returns the legs with max profit, max
   loss, breakevens and the net debit/credit.
2. Review with me: liquidity (bid/ask width), the probability proxy (delta of the short strike),
   assignment risk (ex-dividend dates for short calls), and whether the payoff fits my view.
   Adjust strikes with `primary`/`secondary` (e.g. `{{"by": "delta", "value": 0.2}}`,
   `{{"by": "percent_otm", "value": 0.05}}` or `{{"by": "strike", "value": 450}}`).
3. Only after my explicit go-ahead call `{TOOLS}place` with the same arguments plus
   `"execute": true`. It tries a single combo (BAG) order at the net mid price and falls back to
   individual limit orders per leg if the broker refuses the combo — tell me which happened.
4. Summarise the orders placed and how to manage the position (roll, close at 50% of max
   profit, or let expire).
"#
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "plan",
                "Choose a covered call, protective put, collar or vertical spread from the live option chain (expiry by DTE, strikes by delta / % OTM / strike) and compute max profit, max loss, breakevens and net debit/credit. Places nothing.",
                schema(false),
            )
            .with_title("Options: plan strategy"),
            Workflow::destructive(
                "place",
                "Plan and, with execute=true and the user's confirmation, place the strategy as one combo (BAG) order, or as individual legs when the combo is refused",
                schema(true),
            )
            .with_title("Options: place strategy"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "plan" | "place" => run(name, parse_input(input)?),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Options);

#[cfg(test)]
mod tests {
    use super::*;
    use quant::options::days_from_civil;

    fn window(target: i64, min: i64, max: i64) -> Input {
        Input {
            target_dte: target,
            min_dte: min,
            max_dte: max,
            ..Input::default()
        }
    }

    fn exps(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn expiry_closest_to_the_target_inside_the_window() {
        let today = days_from_civil(2026, 1, 1);
        // 5, 14, 28, 45 and 91 days out; one unparsable entry.
        let e = exps(&[
            "20260106", "20260115", "bad", "20260129", "20260215", "20260402",
        ]);
        assert_eq!(
            choose_expiry(&e, today, &window(30, 7, 75)),
            Some(("20260129".into(), 28))
        );
        assert_eq!(
            choose_expiry(&e, today, &window(40, 7, 75)),
            Some(("20260215".into(), 45))
        );
        // The 5-day expiry is nearest to 3 but outside the window.
        assert_eq!(
            choose_expiry(&e, today, &window(3, 7, 75)),
            Some(("20260115".into(), 14))
        );
        assert_eq!(choose_expiry(&e, today, &window(30, 100, 200)), None);
        assert_eq!(choose_expiry(&[], today, &window(30, 7, 75)), None);
    }

    #[test]
    fn expiry_ties_keep_the_earlier_listed_one() {
        let today = days_from_civil(2026, 1, 1);
        // 20 and 40 days out, target 30.
        let e = exps(&["20260121", "20260210"]);
        assert_eq!(
            choose_expiry(&e, today, &window(30, 7, 75)),
            Some(("20260121".into(), 20))
        );
    }

    #[test]
    fn strikes_nearest_to_spot_ascending() {
        let all: Vec<f64> = (80..=120).step_by(5).map(f64::from).collect();
        assert_eq!(strikes_near(&all, 101.0, 2), [95.0, 100.0, 105.0, 110.0]);
        // `each_side` below 2 is raised to 2.
        assert_eq!(strikes_near(&all, 101.0, 0), [95.0, 100.0, 105.0, 110.0]);
        assert_eq!(strikes_near(&all, 79.0, 3).len(), 6);
        assert_eq!(strikes_near(&all, 79.0, 3)[0], 80.0);
        assert_eq!(strikes_near(&all, 100.0, 40), all);
    }

    #[test]
    fn rights_and_default_rules_per_strategy() {
        assert_eq!(rights_of(Strategy::CoveredCall), [Right::Call]);
        assert_eq!(rights_of(Strategy::BearCallSpread), [Right::Call]);
        assert_eq!(rights_of(Strategy::ProtectivePut), [Right::Put]);
        assert_eq!(rights_of(Strategy::BullPutSpread), [Right::Put]);
        assert_eq!(rights_of(Strategy::Collar), [Right::Call, Right::Put]);
        assert_eq!(
            default_rules(Strategy::BullCallSpread),
            (StrikeRule::Delta(0.50), StrikeRule::Delta(0.25))
        );
        assert_eq!(wit_right(Right::Put), OptionRight::Put);
    }

    #[test]
    fn invalid_inputs_are_refused_before_touching_the_broker() {
        assert_eq!(
            Options::run_workflow("plan", json!({"symbol": ""})).unwrap_err(),
            Error::InvalidArgument("symbol is required".into())
        );
        assert_eq!(
            Options::run_workflow(
                "place",
                json!({"symbol": "AAPL", "strategy": "iron_condor"})
            )
            .unwrap_err(),
            Error::InvalidArgument("unknown strategy \"iron_condor\"".into())
        );
        assert_eq!(
            Options::run_workflow("plan", json!({"symbol": "AAPL", "contracts": "two"}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            Options::run_workflow("roll", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `roll`".into())
        );
    }

    #[test]
    fn input_defaults() {
        let i: Input = parse_input(json!({"symbol": "AAPL"})).unwrap();
        assert_eq!(i.strategy, "covered_call");
        assert_eq!(
            (i.contracts, i.target_dte, i.min_dte, i.max_dte),
            (1.0, 30, 7, 75)
        );
        assert_eq!((i.rate, i.strikes_each_side), (0.04, 12));
        assert!(i.combo && !i.execute);
    }

    #[test]
    fn workflows_and_money_formatting() {
        let w = Options::workflows();
        assert_eq!(
            w.iter()
                .map(|w| (w.name.as_str(), w.access))
                .collect::<Vec<_>>(),
            [("plan", Access::ReadOnly), ("place", Access::Destructive)]
        );
        assert_eq!(unlimited(None), "unlimited");
        assert_eq!(unlimited(Some(1234.5)), "1,234.50");
        assert_eq!(round_cents(1.005_000_1), 1.01);
        assert_eq!(round_cents(-2.344), -2.34);
    }
}
