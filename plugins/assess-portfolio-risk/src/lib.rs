//! `assess_portfolio_risk`: risk of the live portfolio from historical daily bars of the held
//! positions — annualised volatility, beta against a benchmark, historical VaR and CVaR (95/99,
//! 1-day), concentration (weights, HHI, top-N), maximum drawdown, correlations and stress
//! scenarios. Read-only; needs `market-data` and `account`.

use ibkr_plugin_sdk::prelude::*;
use plugin_kit::{closes, money, pct, q_err, table};
use quant::indicators::simple_returns;
use quant::risk::{self, StressPosition, TRADING_DAYS};
use serde::Deserialize;

const TOOLS: &str = "assess_portfolio_risk__";

struct Risk;

#[derive(Deserialize)]
#[serde(default)]
struct Input {
    account: Option<String>,
    benchmark: String,
    days: u32,
    confidence: Vec<f64>,
    top_n: usize,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            account: None,
            benchmark: "SPY".into(),
            days: 365,
            confidence: vec![0.95, 0.99],
            top_n: 3,
        }
    }
}

struct Held {
    symbol: String,
    value: f64,
    closes: Vec<f64>,
}

fn assess(input: Input) -> Result<Value, Error> {
    let account_id = input
        .account
        .clone()
        .or_else(|| account::accounts().ok().and_then(|a| a.into_iter().next()));
    let positions = account::positions(account_id.as_deref())?;
    let summary = account::summary(account_id.as_deref())?;
    let cash = plugin_kit::summary_cash(&summary);
    let mut notes = Vec::new();
    let mut held = Vec::new();
    let days = input.days.clamp(60, 3650);
    let stocks: Vec<_> = positions.iter().filter(|p| p.quantity != 0.0).collect();
    let total = stocks.len() as f64 + 1.0;
    for (i, p) in stocks.iter().enumerate() {
        host::check_cancelled()?;
        if p.contract.sec_type != SecType::Stock {
            notes.push(format!(
                "{} ({:?}) is excluded from the historical model (only stocks/ETFs are modelled)",
                p.contract.symbol, p.contract.sec_type
            ));
            continue;
        }
        host::progress(i as f64, Some(total), Some(&p.contract.symbol));
        let price = plugin_kit::position_price(p)?;
        let bars = plugin_kit::daily_bars(&p.contract.symbol, days)?;
        held.push(Held {
            symbol: p.contract.symbol.clone(),
            value: p.quantity * price,
            closes: closes(&bars),
        });
    }
    if held.is_empty() {
        return Ok(plugin_kit::report(
            "# Portfolio risk\n\nNo stock or ETF positions: nothing to assess.\n".into(),
            json!({"account": account_id, "positions": [], "notes": notes}),
        ));
    }
    let benchmark = input.benchmark.trim().to_ascii_uppercase();
    let bench = closes(&plugin_kit::daily_bars(&benchmark, days)?);
    risk_report(&input, account_id, &held, cash, &benchmark, bench, &notes)
}

/// The risk report from the gathered data (no host calls): `held` stock positions with their
/// daily closes, the account's cash, the benchmark's daily closes.
fn risk_report(
    input: &Input,
    account_id: Option<String>,
    held: &[Held],
    cash: f64,
    benchmark: &str,
    bench: Vec<f64>,
    notes: &[String],
) -> Result<Value, Error> {
    // Align every series (and the benchmark) on the most recent common observations.
    let mut series: Vec<Vec<f64>> = held.iter().map(|h| h.closes.clone()).collect();
    series.push(bench);
    let aligned = risk::align_tails(&series);
    let obs = aligned[0].len();
    if obs < 21 {
        return Err(Error::failed(format!(
            "only {obs} common daily observations; at least 21 are needed"
        )));
    }
    let rets: Vec<Vec<f64>> = aligned.iter().map(|s| simple_returns(s)).collect();
    let (asset_rets, bench_rets) = rets.split_at(held.len());
    let bench_rets = &bench_rets[0];

    let invested: f64 = held.iter().map(|h| h.value).sum();
    let nav = invested + cash;
    if nav <= 0.0 {
        return Err(Error::failed("net liquidation is not positive"));
    }
    // Weights of NAV (cash earns ~0 over a day), so VaR is of the whole account.
    let weights: Vec<f64> = held.iter().map(|h| h.value / nav).collect();
    let port = risk::portfolio_returns(&weights, asset_rets).map_err(q_err)?;
    let port_vol = risk::annualized_volatility(&port, TRADING_DAYS).map_err(q_err)?;
    let port_beta = risk::beta(&port, bench_rets).ok();
    let bench_vol = risk::annualized_volatility(bench_rets, TRADING_DAYS).ok();
    let path = risk::cumulative_path(&port);
    let dd = risk::max_drawdown(&path).map_err(q_err)?;
    let mut vars = Vec::new();
    for c in &input.confidence {
        let v = risk::historical_var(&port, *c).map_err(q_err)?;
        vars.push(json!({
            "confidence": c,
            "horizon_days": 1,
            "var_pct": v.var,
            "cvar_pct": v.cvar,
            "var_amount": v.var * nav,
            "cvar_amount": v.cvar * nav,
            "tail_observations": v.tail_observations,
        }));
    }
    let conc = risk::concentration(
        &held
            .iter()
            .map(|h| (h.symbol.clone(), h.value))
            .collect::<Vec<_>>(),
        input.top_n.max(1),
    )
    .map_err(q_err)?;
    let mut per = Vec::new();
    let mut stress_pos = Vec::new();
    for (i, h) in held.iter().enumerate() {
        let vol = risk::annualized_volatility(&asset_rets[i], TRADING_DAYS).ok();
        let beta = risk::beta(&asset_rets[i], bench_rets).ok();
        let corr = risk::correlation(&asset_rets[i], bench_rets).ok();
        let mdd = risk::max_drawdown(&aligned[i]).ok().map(|d| d.max_drawdown);
        // Contribution to portfolio variance: w_i * cov(r_i, r_p) / var(r_p).
        let contrib = risk::beta(&asset_rets[i], &port)
            .ok()
            .map(|b| b * weights[i]);
        let class = risk::classify_symbol(&h.symbol);
        stress_pos.push(StressPosition {
            symbol: h.symbol.clone(),
            market_value: h.value,
            class,
            beta: if matches!(class, risk::AssetClass::Equity) && h.symbol != benchmark {
                beta
            } else {
                None
            },
        });
        per.push(json!({
            "symbol": h.symbol,
            "market_value": h.value,
            "weight": weights[i],
            "asset_class": class,
            "volatility": vol,
            "beta": beta,
            "correlation_to_benchmark": corr,
            "max_drawdown": mdd,
            "risk_contribution": contrib,
        }));
    }
    let names: Vec<(String, Vec<f64>)> = held
        .iter()
        .zip(asset_rets)
        .map(|(h, r)| (h.symbol.clone(), r.clone()))
        .collect();
    let corr = risk::correlation_matrix(&names).ok();
    let stress = risk::stress_test(&stress_pos, cash, &risk::standard_scenarios());

    let mut md = format!(
        "# Portfolio risk{}\n\nNet liquidation {} (invested {}, cash {}). {} daily returns, benchmark {}.\n\n",
        account_id
            .as_deref()
            .map(|a| format!(" — {a}"))
            .unwrap_or_default(),
        money(nav),
        money(invested),
        money(cash),
        obs - 1,
        benchmark
    );
    md.push_str(&format!(
        "## Summary\n\n- Annualised volatility: **{}** (benchmark {})\n- Beta vs {}: **{}**\n- Maximum drawdown (current weights, historical): **{}**; current drawdown {}\n",
        pct(port_vol, 2),
        bench_vol.map(|v| pct(v, 2)).unwrap_or_else(|| "n/a".into()),
        benchmark,
        port_beta.map(|b| format!("{b:.2}")).unwrap_or_else(|| "n/a".into()),
        pct(dd.max_drawdown, 2),
        pct(dd.current_drawdown, 2),
    ));
    for v in &vars {
        md.push_str(&format!(
            "- 1-day historical VaR {}: **{}** ({}); CVaR {} ({})\n",
            pct(v["confidence"].as_f64().unwrap_or(0.0), 0),
            money(v["var_amount"].as_f64().unwrap_or(0.0)),
            pct(v["var_pct"].as_f64().unwrap_or(0.0), 2),
            money(v["cvar_amount"].as_f64().unwrap_or(0.0)),
            pct(v["cvar_pct"].as_f64().unwrap_or(0.0), 2),
        ));
    }
    md.push_str(&format!(
        "- Concentration: HHI {:.3} (≈ {:.1} equally weighted positions); top {} = {}; largest {}\n\n## Positions\n\n",
        conc.hhi,
        conc.effective_positions,
        conc.top_n,
        pct(conc.top_n_weight, 1),
        conc.largest
            .as_ref()
            .map(|(s, w)| format!("{s} {}", pct(*w, 1)))
            .unwrap_or_default()
    ));
    let f = |v: &Value, p: bool| {
        v.as_f64()
            .map(|x| if p { pct(x, 1) } else { format!("{x:.2}") })
            .unwrap_or_else(|| "n/a".into())
    };
    let rows: Vec<Vec<String>> = per
        .iter()
        .map(|r| {
            vec![
                r["symbol"].as_str().unwrap_or("").into(),
                money(r["market_value"].as_f64().unwrap_or(0.0)),
                f(&r["weight"], true),
                f(&r["volatility"], true),
                f(&r["beta"], false),
                f(&r["max_drawdown"], true),
                f(&r["risk_contribution"], true),
            ]
        })
        .collect();
    md.push_str(&table(
        &[
            "Symbol",
            "Value",
            "Weight",
            "Vol",
            "Beta",
            "Max DD",
            "Risk share",
        ],
        &rows,
    ));
    md.push_str("\n## Stress scenarios\n\n");
    let srows: Vec<Vec<String>> = stress
        .iter()
        .map(|s| {
            vec![
                s.scenario.clone(),
                money(s.pnl),
                pct(s.pnl_pct, 2),
                s.description.clone(),
            ]
        })
        .collect();
    md.push_str(&table(
        &["Scenario", "P&L", "% of NAV", "Assumption"],
        &srows,
    ));
    for n in notes {
        md.push_str(&format!("\n- {n}"));
    }
    md.push('\n');
    Ok(plugin_kit::report(
        md,
        json!({
            "account": account_id,
            "net_liquidation": nav,
            "cash": cash,
            "benchmark": benchmark,
            "observations": obs - 1,
            "volatility": port_vol,
            "benchmark_volatility": bench_vol,
            "beta": port_beta,
            "max_drawdown": dd,
            "var": vars,
            "concentration": conc,
            "positions": per,
            "correlation": corr.map(|m| json!({"symbols": held.iter().map(|h| h.symbol.clone()).collect::<Vec<_>>(), "matrix": m})),
            "stress": stress,
            "notes": notes,
        }),
    ))
}

impl Plugin for Risk {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "assess_portfolio_risk",
                "Portfolio risk review from live positions and historical bars: volatility, beta, VaR/CVaR, concentration, drawdown and stress scenarios, with mitigation ideas",
            )
            .with_title("Assess portfolio risk")
            .arg("account", "Account id (default: the first managed account)", false, ArgumentKind::Account)
            .arg("benchmark", "Benchmark for beta (default SPY)", false, ArgumentKind::Symbol)
            .arg("days", "History in calendar days (default 365)", false, ArgumentKind::Number),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "assess_portfolio_risk" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let benchmark = args.get_or("benchmark", "SPY").to_ascii_uppercase();
        let days: u32 = args.get_or("days", "365").parse().unwrap_or(365);
        let account_arg = args.get("account").map(str::to_string);
        let mut call = json!({"benchmark": benchmark, "days": days});
        if let Some(a) = &account_arg {
            call["account"] = json!(a);
        }
        let live = match assess(Input {
            account: account_arg,
            benchmark: benchmark.clone(),
            days,
            ..Input::default()
        }) {
            Ok(v) => format!(
                "## Live assessment\n\n{}",
                v["report"].as_str().unwrap_or("").replacen("# ", "### ", 1)
            ),
            Err(e) => format!(
                "## Live assessment\n\n_Not available right now ({}); call the tool below._\n",
                e.code()
            ),
        };
        let text = format!(
            r#"# Assess my portfolio's risk

Act as a risk manager reviewing my Interactive Brokers portfolio against {benchmark}.

{live}
## How to work

1. Call `{TOOLS}assess` with `{call}` for fresh numbers.
2. **Market risk** — annualised volatility vs the benchmark, beta (how much of a {benchmark} move I
   carry), 1-day historical VaR and CVaR at 95% and 99% in currency and % of net liquidation.
   Explain that CVaR is the average loss on the worst days beyond VaR.
3. **Concentration** — largest positions, top-N weight, HHI and the effective number of positions;
   flag any single position above 20% or top-3 above 60%.
4. **Drawdown** — the worst peak-to-trough loss the current weights would have suffered.
5. **Stress** — equity -20% (beta-adjusted), rates +100bp (bond ETFs by duration), a 2008-like and
   a 2020-like shock. Which positions drive the losses? Do bonds hedge equities here?
6. **Correlations and risk share** — which positions dominate total risk.
7. **Recommendations** — concrete, sized mitigations (trim, diversify, hedge with a protective put
   or collar via `execute_options_strategy`, rebalance via `rebalance_portfolio`). Nothing is traded
   by this workflow; historical estimates are not forecasts.
"#
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "assess",
                "Risk of the live portfolio from historical daily bars: annualised volatility, beta vs a benchmark, 1-day historical VaR/CVaR (95/99), concentration (weights, HHI, top-N), max drawdown, correlations, per-position risk share and stress scenarios (equity -20%, rates +100bp, 2008-like, 2020-like)",
                json!({
                    "type": "object",
                    "properties": {
                        "account": {"type": "string", "description": "Account id (default: first managed account)"},
                        "benchmark": {"type": "string", "default": "SPY"},
                        "days": {"type": "integer", "minimum": 60, "maximum": 3650, "default": 365, "description": "Calendar days of history"},
                        "confidence": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, "default": [0.95, 0.99]},
                        "top_n": {"type": "integer", "minimum": 1, "default": 3}
                    }
                }),
            )
            .with_title("Assess portfolio risk"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "assess" => assess(parse_input(input)?),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Risk);

#[cfg(test)]
mod tests {
    use super::*;

    /// 29 daily returns: +1% except a -5% day and a -3% day; 30 closes from 100.
    fn closes_from_100() -> Vec<f64> {
        let mut rets = vec![0.01; 29];
        rets[10] = -0.05;
        rets[20] = -0.03;
        let mut c = vec![100.0];
        for r in rets {
            c.push(c.last().unwrap() * (1.0 + r));
        }
        c
    }

    fn held(symbol: &str, value: f64, closes: Vec<f64>) -> Held {
        Held {
            symbol: symbol.into(),
            value,
            closes,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// A (6,000) and B (2,000) with identical returns, 2,000 cash: the portfolio's daily return
    /// is 0.8 x the assets' return.
    fn report() -> Value {
        let c = closes_from_100();
        risk_report(
            &Input::default(),
            Some("DU1".into()),
            &[
                held("AAA", 6_000.0, c.clone()),
                held("BBB", 2_000.0, c.clone()),
            ],
            2_000.0,
            "SPY",
            c,
            &["a note".to_string()],
        )
        .unwrap()
    }

    #[test]
    fn weights_are_of_net_liquidation_including_cash() {
        let r = report();
        let d = &r["data"];
        assert_eq!(d["net_liquidation"], 10_000.0);
        assert_eq!(d["cash"], 2_000.0);
        assert_eq!(d["observations"], 29);
        assert_eq!(d["account"], "DU1");
        let w: Vec<f64> = d["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["weight"].as_f64().unwrap())
            .collect();
        assert_eq!(w, [0.6, 0.2]);
        assert_eq!(d["notes"], json!(["a note"]));
    }

    #[test]
    fn historical_var_and_cvar_per_confidence() {
        let r = report();
        let var = r["data"]["var"].as_array().unwrap();
        assert_eq!(var.len(), 2);
        // Portfolio losses: 0.8 x 5% = 4% and 0.8 x 3% = 2.4% are the two worst days.
        // 95%: the 2nd worst of 29 (ceil(29 x 0.05) = 2); CVaR the mean of the worst two.
        let v95 = &var[0];
        assert_eq!(v95["confidence"], 0.95);
        assert!(close(v95["var_pct"].as_f64().unwrap(), 0.024), "{v95}");
        assert!(close(v95["cvar_pct"].as_f64().unwrap(), 0.032), "{v95}");
        assert!(close(v95["var_amount"].as_f64().unwrap(), 240.0), "{v95}");
        // 99%: the worst day.
        let v99 = &var[1];
        assert_eq!(v99["confidence"], 0.99);
        assert!(close(v99["var_pct"].as_f64().unwrap(), 0.04), "{v99}");
        assert!(close(v99["cvar_amount"].as_f64().unwrap(), 400.0), "{v99}");
    }

    #[test]
    fn beta_of_a_scaled_benchmark_is_the_scale() {
        let r = report();
        assert!(
            close(r["data"]["beta"].as_f64().unwrap(), 0.8),
            "{}",
            r["data"]["beta"]
        );
        let md = r["report"].as_str().unwrap();
        assert!(
            md.starts_with("# Portfolio risk — DU1\n\nNet liquidation 10,000.00 (invested 8,000.00, cash 2,000.00). 29 daily returns, benchmark SPY.\n"),
            "{md}"
        );
        assert!(md.contains("- Beta vs SPY: **0.80**\n"), "{md}");
        assert!(md.contains("## Stress scenarios"), "{md}");
        assert!(md.ends_with("\n- a note\n"), "{md}");
    }

    #[test]
    fn too_little_common_history_fails() {
        let c = closes_from_100();
        let e = risk_report(
            &Input::default(),
            None,
            &[held("AAA", 1_000.0, c[10..].to_vec())],
            0.0,
            "SPY",
            c,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::Failed("only 20 common daily observations; at least 21 are needed".into())
        );
    }

    #[test]
    fn non_positive_net_liquidation_fails() {
        let c = closes_from_100();
        let e = risk_report(
            &Input::default(),
            None,
            &[held("AAA", 1_000.0, c.clone())],
            -1_000.0,
            "SPY",
            c,
            &[],
        )
        .unwrap_err();
        assert_eq!(e, Error::Failed("net liquidation is not positive".into()));
    }

    #[test]
    fn confidence_outside_0_1_is_invalid() {
        let c = closes_from_100();
        let input = Input {
            confidence: vec![95.0],
            ..Input::default()
        };
        let e = risk_report(
            &input,
            None,
            &[held("AAA", 1_000.0, c.clone())],
            0.0,
            "SPY",
            c,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::InvalidArgument("confidence must be in (0, 1)".into())
        );
    }

    #[test]
    fn input_defaults_and_unknown_workflow() {
        let i: Input = parse_input(json!({})).unwrap();
        assert_eq!((i.benchmark.as_str(), i.days, i.top_n), ("SPY", 365, 3));
        assert_eq!(i.confidence, [0.95, 0.99]);
        assert_eq!(
            Risk::run_workflow("assess", json!({"days": -1}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            Risk::run_workflow("hedge", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `hedge`".into())
        );
        assert_eq!(
            Risk::workflows()
                .iter()
                .map(|w| (w.name.as_str(), w.access))
                .collect::<Vec<_>>(),
            [("assess", Access::ReadOnly)]
        );
    }
}
