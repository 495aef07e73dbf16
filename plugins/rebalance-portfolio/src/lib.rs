//! `rebalance_portfolio`: drift of live positions against target weights, a trade list in whole
//! lots (cash buffer, minimum trade size, sells before buys, estimated commissions), optional
//! execution through the `orders` capability after confirmation, and verification of the
//! resulting weights.

use ibkr_plugin_sdk::prelude::*;
use ibkr_plugin_sdk::{OrderState, OrderStatus};
use plugin_kit::{money, parse_targets, pct, q_err, table};
use quant::rebalance::{
    Holding, RebalanceConfig, RebalancePlan, Side, UnknownSymbols, Verification, plan_rebalance,
    verify,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Prefix the host gives this plugin's tools.
const TOOLS: &str = "rebalance_portfolio__";

struct Rebalance;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Input {
    targets: Value,
    account: Option<String>,
    cash_buffer_pct: Option<f64>,
    min_trade_notional: Option<f64>,
    drift_threshold: Option<f64>,
    lot_size: Option<f64>,
    lot_sizes: BTreeMap<String, f64>,
    unknown_symbols: Option<UnknownSymbols>,
    weight_tolerance: Option<f64>,
    execute: bool,
    /// Seconds to wait for fills before verifying (default 8).
    fill_timeout_secs: Option<f64>,
}

impl Input {
    fn config(&self) -> RebalanceConfig {
        let d = RebalanceConfig::default();
        RebalanceConfig {
            weight_tolerance: self.weight_tolerance.unwrap_or(d.weight_tolerance),
            unknown_symbols: self.unknown_symbols.unwrap_or_default(),
            lot_size: self.lot_size.unwrap_or(1.0),
            lot_sizes: self
                .lot_sizes
                .iter()
                .map(|(k, v)| (k.to_ascii_uppercase(), *v))
                .collect(),
            cash_buffer_pct: self.cash_buffer_pct.unwrap_or(0.0),
            min_trade_notional: self.min_trade_notional.unwrap_or(0.0),
            drift_threshold: self.drift_threshold.unwrap_or(0.0),
            commission: d.commission,
        }
    }
}

/// Live state of the account.
struct Snapshot {
    account: Option<String>,
    holdings: Vec<Holding>,
    cash: f64,
    prices: BTreeMap<String, f64>,
}

fn resolve_account(requested: Option<&str>) -> Option<String> {
    requested
        .map(str::to_string)
        .or_else(|| account::accounts().ok().and_then(|a| a.into_iter().next()))
}

fn snapshot(
    account_id: Option<String>,
    targets: &BTreeMap<String, f64>,
) -> Result<Snapshot, Error> {
    let positions = plugin_kit::stock_positions(account_id.as_deref())?;
    let summary = account::summary(account_id.as_deref())?;
    let cash = plugin_kit::summary_cash(&summary);
    // Fresh quotes for every symbol involved: positions' marks may lag.
    let mut symbols: Vec<String> = targets.keys().cloned().collect();
    for p in &positions {
        if !symbols.contains(&p.contract.symbol) {
            symbols.push(p.contract.symbol.clone());
        }
    }
    let contracts: Vec<Contract> = symbols.iter().map(|s| Contract::stock(s)).collect();
    let quotes = market_data::quotes(&contracts)?;
    let mut prices = BTreeMap::new();
    for (s, q) in symbols.iter().zip(&quotes) {
        if let Some(p) = plugin_kit::quote_price(q) {
            prices.insert(s.clone(), p);
        }
    }
    let mut holdings = Vec::new();
    for p in &positions {
        let sym = p.contract.symbol.clone();
        let price = match prices.get(&sym) {
            Some(px) => *px,
            None => plugin_kit::position_price(p)?,
        };
        holdings.push(Holding {
            symbol: sym,
            quantity: p.quantity,
            price,
        });
    }
    Ok(Snapshot {
        account: account_id,
        holdings,
        cash,
        prices,
    })
}

fn plan_from(input: &Input) -> Result<(Snapshot, BTreeMap<String, f64>, RebalancePlan), Error> {
    let targets = parse_targets(&input.targets)?;
    let snap = snapshot(resolve_account(input.account.as_deref()), &targets)?;
    let plan = plan_rebalance(
        &snap.holdings,
        snap.cash,
        &targets,
        &snap.prices,
        &input.config(),
    )
    .map_err(q_err)?;
    Ok((snap, targets, plan))
}

fn drift_markdown(plan: &RebalancePlan) -> String {
    let rows: Vec<Vec<String>> = plan
        .drift
        .iter()
        .map(|d| {
            vec![
                d.symbol.clone(),
                format!("{}", d.quantity),
                money(d.price),
                money(d.market_value),
                pct(d.current_weight, 2),
                pct(d.target_weight, 2),
                format!("{:+.2} pp", d.drift * 100.0),
                format!("{}", d.target_quantity),
            ]
        })
        .collect();
    format!(
        "Net liquidation {} (cash {}), investable after buffer {}. Largest drift {:.2} pp.\n\n{}",
        money(plan.net_liquidation),
        money(plan.cash),
        money(plan.investable),
        plan.max_drift * 100.0,
        table(
            &[
                "Symbol",
                "Qty",
                "Price",
                "Value",
                "Weight",
                "Target",
                "Drift",
                "Target qty"
            ],
            &rows
        )
    )
}

fn trades_markdown(plan: &RebalancePlan) -> String {
    if plan.trades.is_empty() {
        return "No trades needed: every position is at its target (within lots, bands and minimums).\n"
            .to_string();
    }
    let rows: Vec<Vec<String>> = plan
        .trades
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vec![
                format!("{}", i + 1),
                format!("{:?}", t.side).to_uppercase(),
                t.symbol.clone(),
                format!("{}", t.quantity),
                money(t.price),
                money(t.notional),
                money(t.commission),
            ]
        })
        .collect();
    let mut s = table(
        &[
            "#",
            "Side",
            "Symbol",
            "Qty",
            "Est. price",
            "Notional",
            "Est. commission",
        ],
        &rows,
    );
    s.push_str(&format!(
        "\nTurnover {}, estimated commissions {}, residual cash {}.\n",
        money(plan.turnover),
        money(plan.total_commission),
        money(plan.residual_cash)
    ));
    for sk in &plan.skipped {
        s.push_str(&format!(
            "- skipped {} {}: {}\n",
            sk.symbol, sk.quantity, sk.reason
        ));
    }
    s
}

fn verification_markdown(v: &Verification) -> String {
    let rows: Vec<Vec<String>> = v
        .rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                format!("{}", r.quantity),
                pct(r.weight, 2),
                pct(r.target_weight, 2),
                format!("{:+.2} pp", r.weight_diff * 100.0),
                format!("{:.2}", r.lots_off),
                if r.within_one_lot { "yes" } else { "NO" }.to_string(),
            ]
        })
        .collect();
    format!(
        "{}\nMax weight deviation {:.2} pp; all within one lot: **{}**.\n",
        table(
            &[
                "Symbol",
                "Qty",
                "Weight",
                "Target",
                "Diff",
                "Lots off",
                "Within 1 lot"
            ],
            &rows
        ),
        v.max_abs_weight_diff * 100.0,
        v.all_within_one_lot
    )
}

fn verify_now(
    account_id: Option<String>,
    targets: &BTreeMap<String, f64>,
    cfg: &RebalanceConfig,
) -> Result<Verification, Error> {
    let snap = snapshot(account_id, targets)?;
    verify(&snap.holdings, snap.cash, targets, &snap.prices, cfg).map_err(q_err)
}

fn is_final(s: &OrderStatus) -> bool {
    matches!(
        s.state,
        OrderState::Filled | OrderState::Cancelled | OrderState::Inactive
    )
}

/// Waits until the positions reach the expected quantities (or the timeout passes).
fn wait_for_positions(
    account_id: Option<&str>,
    expected: &BTreeMap<String, f64>,
    timeout_secs: f64,
) -> Result<bool, Error> {
    let step = std::time::Duration::from_millis(200);
    let rounds = ((timeout_secs * 1000.0) / 200.0).ceil().max(1.0) as usize;
    for i in 0..rounds {
        host::check_cancelled()?;
        let held: BTreeMap<String, f64> = plugin_kit::stock_positions(account_id)?
            .into_iter()
            .map(|p| (p.contract.symbol, p.quantity))
            .collect();
        let done = expected
            .iter()
            .all(|(s, q)| (held.get(s).copied().unwrap_or(0.0) - q).abs() < 1e-6);
        if done {
            return Ok(true);
        }
        if i + 1 < rounds {
            std::thread::sleep(step);
        }
    }
    Ok(false)
}

/// Waits until the account's cash is close to the plan's expected residual cash (fills at
/// prices other than the estimate and real commissions make it differ slightly).
fn wait_for_cash(
    account_id: Option<&str>,
    plan: &RebalancePlan,
    timeout_secs: f64,
) -> Result<bool, Error> {
    let tolerance = (plan.turnover * 0.01).max(100.0);
    let step = std::time::Duration::from_millis(250);
    let rounds = ((timeout_secs * 1000.0) / 250.0).ceil().max(1.0) as usize;
    for i in 0..rounds {
        host::check_cancelled()?;
        let cash = plugin_kit::summary_cash(&account::summary(account_id)?);
        if (cash - plan.residual_cash).abs() <= tolerance {
            return Ok(true);
        }
        if i + 1 < rounds {
            std::thread::sleep(step);
        }
    }
    Ok(false)
}

fn place_batch(
    plan: &RebalancePlan,
    side: Side,
    account_id: Option<&str>,
    log: &mut Vec<Value>,
) -> Result<(), Error> {
    for t in plan.trades.iter().filter(|t| t.side == side) {
        host::check_cancelled()?;
        let action = match side {
            Side::Buy => Action::Buy,
            Side::Sell => Action::Sell,
        };
        let mut order = Order::market(action, t.quantity).with_ref("rebalance_portfolio");
        if let Some(a) = account_id {
            order = order.with_account(a);
        }
        match orders::place(&Contract::stock(&t.symbol), &order) {
            Ok(st) => {
                host::info(&format!(
                    "placed {:?} {} {} -> order {} {:?}",
                    side, t.quantity, t.symbol, st.order_id, st.state
                ));
                log.push(json!({
                    "symbol": t.symbol, "side": format!("{:?}", side).to_uppercase(),
                    "quantity": t.quantity, "order_id": st.order_id,
                    "state": format!("{:?}", st.state), "filled": st.filled,
                    "avg_fill_price": st.avg_fill_price, "final": is_final(&st),
                    "message": st.message,
                }));
            }
            Err(e) => {
                host::warn(&format!("order for {} failed: {e:?}", t.symbol));
                log.push(json!({
                    "symbol": t.symbol, "side": format!("{:?}", side).to_uppercase(),
                    "quantity": t.quantity, "error": format!("{e:?}"), "code": e.code(),
                }));
                // Guardrails and declines stop the whole rebalance: never half-buy blindly.
                if matches!(
                    e,
                    Error::GuardrailViolation(_) | Error::Declined(_) | Error::PermissionDenied(_)
                ) {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

fn expected_after(plan: &RebalancePlan, side: Option<Side>) -> BTreeMap<String, f64> {
    let mut q: BTreeMap<String, f64> = plan
        .drift
        .iter()
        .map(|d| (d.symbol.clone(), d.quantity))
        .collect();
    for t in &plan.trades {
        if side.is_some_and(|s| s != t.side) {
            continue;
        }
        let e = q.entry(t.symbol.clone()).or_default();
        *e += if t.side == Side::Buy {
            t.quantity
        } else {
            -t.quantity
        };
    }
    q
}

fn run_rebalance(input: Input) -> Result<Value, Error> {
    let cfg = input.config();
    let (snap, targets, plan) = plan_from(&input)?;
    let mut md = format!(
        "# Portfolio rebalance{}\n\n## Drift\n\n{}\n\n## Trade plan (sells first)\n\n{}",
        snap.account
            .as_deref()
            .map(|a| format!(" — account {a}"))
            .unwrap_or_default(),
        drift_markdown(&plan),
        trades_markdown(&plan)
    );
    if !input.execute || plan.trades.is_empty() {
        if !plan.trades.is_empty() {
            md.push_str(&format!(
                "\n**Dry run.** Nothing was placed. Call `{TOOLS}rebalance` again with `\"execute\": true` to place these {} orders (you will be asked to confirm).\n",
                plan.trades.len()
            ));
        }
        return Ok(plugin_kit::report(
            md,
            json!({"status": if plan.trades.is_empty() {"nothing_to_do"} else {"dry_run"}, "plan": plan}),
        ));
    }
    let summary: Vec<String> = plan
        .trades
        .iter()
        .map(|t| format!("{:?} {} {}", t.side, t.quantity, t.symbol).to_uppercase())
        .collect();
    let question = format!(
        "Rebalance{}: place {} market orders ({}), turnover {}, est. commissions {}?",
        snap.account
            .as_deref()
            .map(|a| format!(" {a}"))
            .unwrap_or_default(),
        plan.trades.len(),
        summary.join(", "),
        money(plan.turnover),
        money(plan.total_commission)
    );
    let confirmation = plugin_kit::confirm_order(&question)?;
    if !confirmation.proceed() {
        md.push_str("\n**Declined.** The user did not confirm; nothing was placed.\n");
        return Ok(plugin_kit::report(
            md,
            json!({"status": "declined", "plan": plan}),
        ));
    }
    let timeout = input.fill_timeout_secs.unwrap_or(8.0).clamp(0.5, 60.0);
    let mut orders_log = Vec::new();
    host::progress(1.0, Some(4.0), Some("placing sells"));
    place_batch(&plan, Side::Sell, snap.account.as_deref(), &mut orders_log)?;
    let sells_done = wait_for_positions(
        snap.account.as_deref(),
        &expected_after(&plan, Some(Side::Sell)),
        timeout,
    )?;
    host::progress(2.0, Some(4.0), Some("placing buys"));
    place_batch(&plan, Side::Buy, snap.account.as_deref(), &mut orders_log)?;
    let all_done = wait_for_positions(
        snap.account.as_deref(),
        &expected_after(&plan, None),
        timeout,
    )?;
    // Account values can lag the fills (summary updates are periodic): wait until the cash
    // balance reflects the trades before verifying, so the weights use a consistent NAV.
    let cash_settled = wait_for_cash(snap.account.as_deref(), &plan, timeout)?;
    host::progress(3.0, Some(4.0), Some("verifying"));
    let v = verify_now(snap.account.clone(), &targets, &cfg)?;
    host::progress(4.0, Some(4.0), Some("done"));
    md.push_str(&format!(
        "\n## Execution\n\nOrders {}. {} orders sent; sells filled before buys: {sells_done}; all fills seen: {all_done}; cash settled: {cash_settled}.\n\n## Verification (positions re-read)\n\n{}",
        confirmation.describe(),
        orders_log.len(),
        verification_markdown(&v)
    ));
    Ok(plugin_kit::report(
        md,
        json!({
            "status": if v.all_within_one_lot { "rebalanced" } else { "incomplete" },
            "confirmation": confirmation.describe(),
            "plan": plan,
            "orders": orders_log,
            "fills_complete": all_done,
            "cash_settled": cash_settled,
            "verification": v,
        }),
    ))
}

fn schema(with_execute: bool) -> Value {
    let mut props = json!({
        "targets": {
            "description": "Target weights: an object {\"VTI\": 0.6, \"TLT\": 0.4}, a list of {symbol, weight}, or text \"VTI:60,TLT:40\". Must sum to 1 (or 100).",
            "anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "array"}, {"type": "string"}]
        },
        "account": {"type": "string", "description": "Account id (default: the first managed account)"},
        "cash_buffer_pct": {"type": "number", "minimum": 0, "maximum": 0.5, "description": "Fraction of net liquidation kept in cash (default 0)"},
        "min_trade_notional": {"type": "number", "minimum": 0, "description": "Skip trades smaller than this notional (default 0)"},
        "drift_threshold": {"type": "number", "minimum": 0, "description": "Only trade positions whose |weight drift| exceeds this (e.g. 0.02 = 2 pp; default 0)"},
        "lot_size": {"type": "number", "minimum": 1, "description": "Shares per lot (default 1 = whole shares)"},
        "lot_sizes": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Per-symbol lot sizes"},
        "unknown_symbols": {"type": "string", "enum": ["liquidate", "error"], "description": "Held symbols without a target: sell them (default) or refuse"},
        "weight_tolerance": {"type": "number", "description": "Allowed deviation of the weights' sum from 1 (default 0.001)"}
    });
    if with_execute {
        props["execute"] = json!({"type": "boolean", "default": false, "description": "Place the orders (after user confirmation). false = dry run"});
        props["fill_timeout_secs"] = json!({"type": "number", "description": "Seconds to wait for fills before verifying (default 8)"});
    }
    json!({"type": "object", "properties": props, "required": ["targets"]})
}

impl Plugin for Rebalance {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "rebalance_portfolio",
                "Guided portfolio rebalancing: drift against target weights, a costed trade plan (sells first), confirmation, execution and verification",
            )
            .with_title("Rebalance portfolio")
            .arg("targets", "Target allocation, e.g. \"VTI:60,TLT:40\" (weights or percentages)", true, ArgumentKind::Text)
            .arg("account", "Account id (default: the first managed account)", false, ArgumentKind::Account)
            .arg("drift_threshold", "Rebalance band in percentage points, e.g. 5 (default 0 = always)", false, ArgumentKind::Number)
            .arg("cash_buffer_pct", "Cash to keep, in percent of net liquidation (default 1)", false, ArgumentKind::Number),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "rebalance_portfolio" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let targets_text = args.require("targets")?;
        let targets = parse_targets(&Value::String(targets_text.to_string()))?;
        let band: f64 = args.get_or("drift_threshold", "0").parse().unwrap_or(0.0);
        let buffer: f64 = args.get_or("cash_buffer_pct", "1").parse().unwrap_or(1.0);
        let account_arg = args.get("account");
        let targets_json = serde_json::to_string(&targets).unwrap_or_default();
        let account_json = account_arg
            .map(|a| format!(", \"account\": \"{a}\""))
            .unwrap_or_default();
        let call_args = format!(
            "{{\"targets\": {targets_json}, \"drift_threshold\": {}, \"cash_buffer_pct\": {}{account_json}}}",
            band / 100.0,
            buffer / 100.0
        );
        // Live snapshot when available; the prompt still works without a connection.
        let input = Input {
            targets: serde_json::to_value(&targets).unwrap_or_default(),
            account: account_arg.map(str::to_string),
            cash_buffer_pct: Some(buffer / 100.0),
            drift_threshold: Some(band / 100.0),
            ..Default::default()
        };
        let live = match plan_from(&input) {
            Ok((snap, _, plan)) => format!(
                "## Live snapshot{}\n\n{}\n### Proposed trades\n\n{}",
                snap.account
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                drift_markdown(&plan),
                trades_markdown(&plan)
            ),
            Err(e) => format!(
                "## Live snapshot\n\n_Not available right now ({}): run the tools below to fetch it._\n",
                e.code()
            ),
        };
        let target_lines: Vec<String> = targets
            .iter()
            .map(|(s, w)| format!("- **{s}**: {}", pct(*w, 1)))
            .collect();
        let text = format!(
            r#"# Rebalance the portfolio to its target allocation

You are helping me rebalance my Interactive Brokers portfolio. Work step by step and stop for my
approval before anything is traded.

## Targets

{targets}

Rebalance band: {band} percentage points (positions inside the band are left alone).
Cash buffer: {buffer}% of net liquidation stays in cash.

{live}
## Workflow

1. **Drift** — call `{TOOLS}drift_report` with `{call_args}`. Show the table: current vs target
   weight, drift in percentage points, and the quantity each position should have.
2. **Plan** — call `{TOOLS}plan` with the same arguments. Present the trade list: sells first
   (they fund the buys), whole shares, estimated IB commissions ($0.005/share, $1 minimum,
   1% cap) and the residual cash. Point out skipped trades (below the band or the minimum size).
3. **Review with me** — flag anything unusual: a full exit of a position, trades larger than 10%
   of the portfolio, symbols that were not held before, thin ETFs where a limit order would be
   better than a market order, and the tax consequences of realising gains on the sells
   (tax lots, wash-sale windows). Ask whether to proceed.
4. **Execute** — only after I say yes, call `{TOOLS}rebalance` with the same arguments plus
   `"execute": true`. The host asks me to confirm again and applies its guardrails and audit log.
   Sells are placed and filled before the buys.
5. **Verify** — the result re-reads the positions; report every position's weight against its
   target and whether it is within one lot. If anything is off (partial fills, rejected orders),
   call `{TOOLS}verify` and propose a follow-up.

## Rules

- Never place orders without my explicit confirmation in this conversation.
- Whole shares only; never use margin to fund buys (the plan keeps residual cash >= 0).
- If the host reports a guardrail violation, stop and explain it; do not split orders to evade it.
"#,
            targets = target_lines.join("\n"),
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "drift_report",
                "Drift of live positions against target weights: current vs target weight, drift and target quantities",
                schema(false),
            )
            .with_title("Rebalance: drift report"),
            Workflow::read_only(
                "plan",
                "Rebalancing trade plan from live positions and quotes: whole-lot trades, sells before buys, cash buffer, minimum trade size, estimated commissions and residual cash. Places nothing.",
                schema(false),
            )
            .with_title("Rebalance: trade plan"),
            Workflow::destructive(
                "rebalance",
                "Plan and, with execute=true and the user's confirmation, place the rebalancing orders (sells first), wait for fills and verify the resulting weights against the targets",
                schema(true),
            )
            .with_title("Rebalance: execute"),
            Workflow::read_only(
                "verify",
                "Verify current positions against target weights: weight deviations and whether each position is within one lot of its target",
                schema(false),
            )
            .with_title("Rebalance: verify"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        let input: Input = parse_input(input)?;
        match name {
            "drift_report" => {
                let (snap, _, plan) = plan_from(&input)?;
                let needs = plan.max_drift > input.drift_threshold.unwrap_or(0.0);
                Ok(plugin_kit::report(
                    format!(
                        "# Drift report{}\n\n{}\n\nRebalancing needed: **{needs}**.\n",
                        snap.account
                            .as_deref()
                            .map(|a| format!(" — {a}"))
                            .unwrap_or_default(),
                        drift_markdown(&plan)
                    ),
                    json!({
                        "account": snap.account,
                        "net_liquidation": plan.net_liquidation,
                        "cash": plan.cash,
                        "max_drift": plan.max_drift,
                        "rebalance_needed": needs,
                        "drift": plan.drift,
                    }),
                ))
            }
            "plan" => {
                let (snap, _, plan) = plan_from(&input)?;
                Ok(plugin_kit::report(
                    format!(
                        "# Rebalance plan{}\n\n{}\n\n{}",
                        snap.account
                            .as_deref()
                            .map(|a| format!(" — {a}"))
                            .unwrap_or_default(),
                        drift_markdown(&plan),
                        trades_markdown(&plan)
                    ),
                    json!({"account": snap.account, "plan": plan}),
                ))
            }
            "rebalance" => run_rebalance(input),
            "verify" => {
                let targets = parse_targets(&input.targets)?;
                let acct = resolve_account(input.account.as_deref());
                let v = verify_now(acct.clone(), &targets, &input.config())?;
                Ok(plugin_kit::report(
                    format!("# Verification\n\n{}", verification_markdown(&v)),
                    json!({"account": acct, "verification": v}),
                ))
            }
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Rebalance);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Input {
        parse_input(v).unwrap()
    }

    /// 150 VTI at 100 and 5,000 cash, target 50/50 VTI/TLT (TLT at 50): sell VTI, buy TLT.
    fn sample_plan() -> RebalancePlan {
        let holdings = [Holding {
            symbol: "VTI".into(),
            quantity: 150.0,
            price: 100.0,
        }];
        let targets: BTreeMap<String, f64> = [("VTI".into(), 0.5), ("TLT".into(), 0.5)]
            .into_iter()
            .collect();
        let prices: BTreeMap<String, f64> = [("VTI".into(), 100.0), ("TLT".into(), 50.0)]
            .into_iter()
            .collect();
        plan_rebalance(
            &holdings,
            5_000.0,
            &targets,
            &prices,
            &RebalanceConfig::default(),
        )
        .unwrap()
    }

    #[test]
    fn config_maps_the_input_and_keeps_quant_defaults() {
        let c = input(json!({"targets": "VTI:100"})).config();
        let d = RebalanceConfig::default();
        assert_eq!(c.weight_tolerance, d.weight_tolerance);
        assert_eq!(c.unknown_symbols, UnknownSymbols::Liquidate);
        assert_eq!(
            (
                c.lot_size,
                c.cash_buffer_pct,
                c.min_trade_notional,
                c.drift_threshold
            ),
            (1.0, 0.0, 0.0, 0.0)
        );
        assert!(c.lot_sizes.is_empty());

        let c = input(json!({
            "targets": "VTI:100", "cash_buffer_pct": 0.02, "min_trade_notional": 250.0,
            "drift_threshold": 0.05, "lot_size": 10.0, "lot_sizes": {"vti": 5.0},
            "unknown_symbols": "error", "weight_tolerance": 0.01,
        }))
        .config();
        assert_eq!(
            (
                c.lot_size,
                c.cash_buffer_pct,
                c.min_trade_notional,
                c.drift_threshold
            ),
            (10.0, 0.02, 250.0, 0.05)
        );
        assert_eq!(c.weight_tolerance, 0.01);
        assert_eq!(c.unknown_symbols, UnknownSymbols::Error);
        // Lot-size keys are upper-cased like the targets.
        assert_eq!(c.lot_for("VTI"), 5.0);
    }

    #[test]
    fn expected_quantities_after_sells_and_after_everything() {
        let plan = sample_plan();
        let sell = plan
            .trades
            .iter()
            .find(|t| t.side == Side::Sell)
            .expect("a sell");
        let buy = plan
            .trades
            .iter()
            .find(|t| t.side == Side::Buy)
            .expect("a buy");
        assert_eq!((sell.symbol.as_str(), sell.quantity), ("VTI", 50.0));
        assert_eq!(buy.symbol, "TLT");
        let after_sells = expected_after(&plan, Some(Side::Sell));
        assert_eq!(after_sells.get("VTI"), Some(&100.0));
        assert_eq!(after_sells.get("TLT").copied().unwrap_or(0.0), 0.0);
        let after_all = expected_after(&plan, None);
        assert_eq!(after_all.get("VTI"), Some(&100.0));
        assert_eq!(after_all.get("TLT"), Some(&buy.quantity));
        let after_buys = expected_after(&plan, Some(Side::Buy));
        assert_eq!(after_buys.get("VTI"), Some(&150.0));
    }

    #[test]
    fn trade_table_lists_sells_first_with_totals() {
        let plan = sample_plan();
        let md = trades_markdown(&plan);
        let first_sell = md.find("| SELL | VTI | 50 |").expect(&md);
        let first_buy = md.find("| BUY | TLT |").expect(&md);
        assert!(first_sell < first_buy, "{md}");
        assert!(md.contains(&format!(
            "\nTurnover {}, estimated commissions {}, residual cash {}.\n",
            money(plan.turnover),
            money(plan.total_commission),
            money(plan.residual_cash)
        )));
    }

    #[test]
    fn no_trades_says_so() {
        let mut plan = sample_plan();
        plan.trades.clear();
        assert_eq!(
            trades_markdown(&plan),
            "No trades needed: every position is at its target (within lots, bands and minimums).\n"
        );
    }

    #[test]
    fn drift_table_has_a_row_per_symbol() {
        let plan = sample_plan();
        let md = drift_markdown(&plan);
        assert!(
            md.starts_with(
                "Net liquidation 20,000.00 (cash 5,000.00), investable after buffer 20,000.00."
            ),
            "{md}"
        );
        assert!(
            md.contains("| VTI | 150 | 100.00 | 15,000.00 | 75.00% | 50.00% | +25.00 pp | 100 |"),
            "{md}"
        );
    }

    #[test]
    fn final_order_states() {
        let st = |state| OrderStatus {
            order_id: 1,
            state,
            filled: 0.0,
            remaining: 1.0,
            avg_fill_price: 0.0,
            message: None,
        };
        assert!(is_final(&st(OrderState::Filled)));
        assert!(is_final(&st(OrderState::Cancelled)));
        assert!(is_final(&st(OrderState::Inactive)));
        assert!(!is_final(&st(OrderState::Submitted)));
    }

    /// Bad targets are refused before any host call (natively a host call would panic).
    #[test]
    fn bad_targets_are_refused_before_touching_the_broker() {
        for name in ["drift_report", "plan", "rebalance", "verify"] {
            assert_eq!(
                Rebalance::run_workflow(name, json!({"targets": "VTI"})).unwrap_err(),
                Error::InvalidArgument("bad target `VTI`, use SYMBOL:WEIGHT".into()),
                "{name}"
            );
            assert_eq!(
                Rebalance::run_workflow(name, json!({})).unwrap_err(),
                Error::InvalidArgument("targets must be an object, a list or a string".into()),
                "{name}"
            );
        }
        assert_eq!(
            Rebalance::run_workflow("rebalance", json!({"targets": "VTI:1", "execute": "yes"}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            Rebalance::run_workflow("sell_all", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `sell_all`".into())
        );
    }

    #[test]
    fn prompt_needs_valid_targets() {
        let args = |v: &[(&str, &str)]| {
            PromptArgs::new(
                v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            Rebalance::render_prompt("rebalance_portfolio", &args(&[])).unwrap_err(),
            Error::InvalidArgument("argument `targets` is required".into())
        );
        assert_eq!(
            Rebalance::render_prompt("rebalance_portfolio", &args(&[("targets", "VTI:x")]))
                .unwrap_err(),
            Error::InvalidArgument("bad weight in `VTI:x`".into())
        );
        assert_eq!(
            Rebalance::render_prompt("other", &args(&[])).unwrap_err(),
            Error::InvalidArgument("unknown prompt `other`".into())
        );
    }

    #[test]
    fn only_rebalance_is_destructive_and_has_execute() {
        let w = Rebalance::workflows();
        assert_eq!(
            w.iter()
                .map(|w| (w.name.as_str(), w.access))
                .collect::<Vec<_>>(),
            [
                ("drift_report", Access::ReadOnly),
                ("plan", Access::ReadOnly),
                ("rebalance", Access::Destructive),
                ("verify", Access::ReadOnly),
            ]
        );
        for wf in &w {
            let s: Value = serde_json::from_str(&wf.input_schema).unwrap();
            assert_eq!(s["required"], json!(["targets"]), "{}", wf.name);
            assert_eq!(
                s["properties"]["execute"].is_object(),
                wf.name == "rebalance",
                "{}",
                wf.name
            );
        }
    }
}
