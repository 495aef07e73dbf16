//! `analyze_market_conditions`: technical indicators from live daily bars — SMA/EMA, RSI
//! (Wilder), MACD (12/26/9), ATR (Wilder), Bollinger bands, relative strength against a
//! benchmark — and a trend / momentum / volatility regime summary. Read-only; needs only the
//! `market-data` capability.

use ibkr_plugin_sdk::prelude::*;
use plugin_kit::{closes, money, ohlc, pct, q_err, table};
use quant::indicators::{self, last_value};
use serde::Deserialize;

const TOOLS: &str = "analyze_market_conditions__";

struct Analysis;

#[derive(Deserialize)]
#[serde(default)]
struct Input {
    symbols: Vec<String>,
    symbol: Option<String>,
    benchmark: String,
    days: u32,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            symbols: Vec::new(),
            symbol: None,
            benchmark: "SPY".into(),
            days: 365,
        }
    }
}

fn opt(x: Option<f64>) -> Value {
    x.filter(|v| v.is_finite())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn analyze_symbol(symbol: &str, bench_closes: Option<&[f64]>, days: u32) -> Result<Value, Error> {
    let bars = plugin_kit::daily_bars(symbol, days)?;
    let c = closes(&bars);
    let n = c.len();
    if n < 30 {
        return Err(Error::failed(format!(
            "{symbol}: only {n} daily bars; at least 30 are needed"
        )));
    }
    let last = c[n - 1];
    let sma = |p: usize| indicators::sma(&c, p).ok().and_then(|s| last_value(&s));
    let ema = |p: usize| indicators::ema(&c, p).ok().and_then(|s| last_value(&s));
    let (sma20, sma50, sma200) = (sma(20), sma(50), sma(200));
    let (ema12, ema26) = (ema(12), ema(26));
    let rsi14 = indicators::rsi(&c, 14).ok().and_then(|s| last_value(&s));
    let macd = indicators::macd(&c, 12, 26, 9).ok();
    let (macd_line, macd_signal, macd_hist) = match &macd {
        Some(m) => (
            last_value(&m.macd),
            last_value(&m.signal),
            last_value(&m.histogram),
        ),
        None => (None, None, None),
    };
    // A MACD cross in the last 5 bars.
    let cross = macd.as_ref().and_then(|m| {
        let h: Vec<f64> = m.histogram.iter().flatten().copied().collect();
        let k = h.len();
        (k >= 6).then(|| {
            let recent = &h[k - 6..];
            if recent[0] <= 0.0 && recent[5] > 0.0 {
                "bullish cross (last 5 bars)"
            } else if recent[0] >= 0.0 && recent[5] < 0.0 {
                "bearish cross (last 5 bars)"
            } else {
                "no recent cross"
            }
        })
    });
    let atr14 = indicators::atr(&ohlc(&bars), 14)
        .map_err(q_err)?
        .pipe_last();
    let atr_pct = atr14.map(|a| a / last);
    let band = indicators::bollinger(&c, 20, 2.0)
        .ok()
        .and_then(|b| b.into_iter().rev().flatten().next());
    let high_52w = bars.iter().map(|b| b.high).fold(f64::MIN, f64::max);
    let low_52w = bars.iter().map(|b| b.low).fold(f64::MAX, f64::min);
    let mut rs = serde_json::Map::new();
    if let Some(b) = bench_closes {
        let k = n.min(b.len());
        let (a, bb) = (&c[n - k..], &b[b.len() - k..]);
        for lb in [20usize, 60, 120] {
            if let Ok(r) = indicators::relative_strength(a, bb, lb) {
                rs.insert(
                    format!("{lb}d"),
                    serde_json::to_value(r).unwrap_or_default(),
                );
            }
        }
    }
    let regime = indicators::classify_regime(
        last,
        sma50.or(sma20),
        sma200.or(sma50),
        rsi14,
        macd_hist,
        atr_pct,
    );
    let ret = |lb: usize| indicators::period_return(&c, lb).ok();
    Ok(json!({
        "symbol": symbol,
        "bars": n,
        "last": last,
        "returns": {"5d": opt(ret(5)), "20d": opt(ret(20)), "60d": opt(ret(60)), "120d": opt(ret(120))},
        "sma": {"20": opt(sma20), "50": opt(sma50), "200": opt(sma200)},
        "ema": {"12": opt(ema12), "26": opt(ema26)},
        "rsi14": opt(rsi14),
        "macd": {"line": opt(macd_line), "signal": opt(macd_signal), "histogram": opt(macd_hist), "cross": cross},
        "atr14": opt(atr14),
        "atr_pct": opt(atr_pct),
        "bollinger": band,
        "range": {"high": high_52w, "low": low_52w, "from_high_pct": last / high_52w - 1.0},
        "relative_strength": rs,
        "regime": regime,
    }))
}

trait PipeLast {
    fn pipe_last(self) -> Option<f64>;
}

impl PipeLast for Vec<Option<f64>> {
    fn pipe_last(self) -> Option<f64> {
        last_value(&self)
    }
}

fn f2(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "n/a".into())
}

fn p2(v: &Value) -> String {
    v.as_f64()
        .map(|x| pct(x, 2))
        .unwrap_or_else(|| "n/a".into())
}

fn markdown(rows: &[Value], benchmark: &str) -> String {
    let mut s = String::from("# Market conditions\n\n");
    let overview: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r["symbol"].as_str().unwrap_or("").to_string(),
                money(r["last"].as_f64().unwrap_or(0.0)),
                r["regime"]["trend"].as_str().unwrap_or("").to_string(),
                r["regime"]["momentum"].as_str().unwrap_or("").to_string(),
                r["regime"]["volatility"].as_str().unwrap_or("").to_string(),
                f2(&r["rsi14"]),
                p2(&r["returns"]["20d"]),
                p2(&r["relative_strength"]["60d"]["relative"]),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "Symbol",
            "Last",
            "Trend",
            "Momentum",
            "Volatility",
            "RSI 14",
            "20d",
            &format!("RS vs {benchmark} 60d"),
        ],
        &overview,
    ));
    for r in rows {
        s.push_str(&format!(
            "\n## {sym}\n\n- Moving averages: SMA20 {}, SMA50 {}, SMA200 {}; EMA12 {}, EMA26 {}\n- MACD {} / signal {} / histogram {} ({})\n- ATR14 {} ({} of price); Bollinger(20,2) {} – {} (%B {})\n- Range over the window: {} – {} ({} from the high)\n- Regime score {} (-4 strong downtrend … +4 strong uptrend)\n",
            f2(&r["sma"]["20"]), f2(&r["sma"]["50"]), f2(&r["sma"]["200"]),
            f2(&r["ema"]["12"]), f2(&r["ema"]["26"]),
            f2(&r["macd"]["line"]), f2(&r["macd"]["signal"]), f2(&r["macd"]["histogram"]),
            r["macd"]["cross"].as_str().unwrap_or("n/a"),
            f2(&r["atr14"]), p2(&r["atr_pct"]),
            f2(&r["bollinger"]["lower"]), f2(&r["bollinger"]["upper"]), f2(&r["bollinger"]["percent_b"]),
            f2(&r["range"]["low"]), f2(&r["range"]["high"]), p2(&r["range"]["from_high_pct"]),
            r["regime"]["score"],
            sym = r["symbol"].as_str().unwrap_or(""),
        ));
    }
    s
}

/// The symbols to analyse: `symbol` first, then `symbols`, upper-cased, blanks and repeats
/// dropped (first occurrence kept); 1 to 20 of them.
fn symbol_list(input: &Input) -> Result<Vec<String>, Error> {
    let mut symbols: Vec<String> = Vec::new();
    for s in input.symbol.iter().chain(&input.symbols) {
        let s = s.trim().to_ascii_uppercase();
        if !s.is_empty() && !symbols.contains(&s) {
            symbols.push(s);
        }
    }
    if symbols.is_empty() {
        return Err(Error::invalid("give `symbol` or `symbols`"));
    }
    if symbols.len() > 20 {
        return Err(Error::invalid("at most 20 symbols per call"));
    }
    Ok(symbols)
}

fn run_analysis(input: Input) -> Result<Value, Error> {
    let symbols = symbol_list(&input)?;
    let days = input.days.clamp(60, 3650);
    let benchmark = input.benchmark.trim().to_ascii_uppercase();
    let bench = plugin_kit::daily_bars(&benchmark, days)
        .map(|b| closes(&b))
        .ok();
    let mut rows = Vec::new();
    let total = symbols.len() as f64;
    for (i, s) in symbols.iter().enumerate() {
        host::check_cancelled()?;
        host::progress(i as f64, Some(total), Some(s));
        rows.push(analyze_symbol(s, bench.as_deref(), days)?);
    }
    Ok(plugin_kit::report(
        markdown(&rows, &benchmark),
        json!({"benchmark": benchmark, "days": days, "symbols": rows}),
    ))
}

impl Plugin for Analysis {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "analyze_market_conditions",
                "Multi-indicator market analysis of one or more symbols: trend (SMA/EMA), momentum (RSI, MACD), volatility (ATR, Bollinger), relative strength against a benchmark and a regime summary",
            )
            .with_title("Analyze market conditions")
            .arg("symbols", "Comma-separated symbols, e.g. AAPL,QQQ", true, ArgumentKind::Symbol)
            .arg("benchmark", "Benchmark for relative strength (default SPY)", false, ArgumentKind::Symbol)
            .arg("days", "Calendar days of daily bars (default 365)", false, ArgumentKind::Number),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "analyze_market_conditions" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let symbols: Vec<String> = args
            .require("symbols")?
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_uppercase())
            .collect();
        let benchmark = args.get_or("benchmark", "SPY").to_ascii_uppercase();
        let days: u32 = args.get_or("days", "365").parse().unwrap_or(365);
        let call = json!({"symbols": symbols, "benchmark": benchmark, "days": days});
        let live = match run_analysis(Input {
            symbols: symbols.clone(),
            symbol: None,
            benchmark: benchmark.clone(),
            days,
        }) {
            Ok(v) => format!(
                "## Live indicators (computed now from daily bars)\n\n{}",
                v["report"]
                    .as_str()
                    .unwrap_or("")
                    .replacen("# Market conditions\n\n", "", 1)
            ),
            Err(e) => format!(
                "## Live indicators\n\n_Not available right now ({}); call the tool below._\n",
                e.code()
            ),
        };
        let text = format!(
            r#"# Analyze market conditions: {list}

Give me a concise, evidence-based read of the market for {list} against {benchmark}.

{live}
## How to work

1. Call `{TOOLS}analyze` with `{call}` to get fresh indicators (the numbers above may be stale).
2. **Trend** — price vs SMA50/SMA200, the SMA50/SMA200 relationship (golden/death cross), EMA12 vs EMA26.
3. **Momentum** — RSI(14) (>70 overbought, <30 oversold), MACD line vs signal and recent crosses.
4. **Volatility** — ATR(14) as % of price (position sizing and stop distances: 1.5–3 ATR),
   Bollinger band width and %B (squeeze or breakout).
5. **Relative strength** — 20/60/120-day performance against {benchmark}; leaders vs laggards.
6. **Regime** — summarise each symbol as strong uptrend / uptrend / sideways / downtrend with the
   regime score, and say which signals conflict.
7. Finish with levels to watch (recent high/low, SMA50, the Bollinger bands) and what would
   change the view. This is analysis, not advice: no orders are placed by this workflow.
"#,
            list = symbols.join(", "),
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "analyze",
                "Technical analysis from live daily bars: SMA 20/50/200, EMA 12/26, RSI 14 (Wilder), MACD 12/26/9, ATR 14, Bollinger 20/2, returns, relative strength vs a benchmark, trend/momentum/volatility regime",
                json!({
                    "type": "object",
                    "properties": {
                        "symbol": {"type": "string", "description": "One symbol"},
                        "symbols": {"type": "array", "items": {"type": "string"}, "maxItems": 20, "description": "Several symbols"},
                        "benchmark": {"type": "string", "default": "SPY", "description": "Benchmark for relative strength"},
                        "days": {"type": "integer", "minimum": 60, "maximum": 3650, "default": 365, "description": "Calendar days of daily bars"}
                    }
                }),
            )
            .with_title("Analyze market conditions"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "analyze" => run_analysis(parse_input(input)?),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Analysis);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(symbol: Option<&str>, symbols: &[&str]) -> Input {
        Input {
            symbol: symbol.map(String::from),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            ..Input::default()
        }
    }

    #[test]
    fn symbol_comes_first_then_symbols_upper_cased_without_blanks() {
        let got = symbol_list(&input(Some(" qqq "), &["aapl", "", "  ", "Msft"])).unwrap();
        assert_eq!(got, ["QQQ", "AAPL", "MSFT"]);
    }

    #[test]
    fn repeated_symbols_are_analysed_once_wherever_they_are() {
        let got = symbol_list(&input(Some("AAPL"), &["msft", "aapl", "MSFT", "spy"])).unwrap();
        assert_eq!(got, ["AAPL", "MSFT", "SPY"]);
    }

    #[test]
    fn no_symbol_is_invalid() {
        for i in [input(None, &[]), input(Some(" "), &["", "  "])] {
            assert_eq!(
                symbol_list(&i).unwrap_err(),
                Error::InvalidArgument("give `symbol` or `symbols`".into())
            );
        }
    }

    #[test]
    fn at_most_20_distinct_symbols() {
        let names: Vec<String> = (0..21).map(|i| format!("S{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            symbol_list(&input(None, &refs)).unwrap_err(),
            Error::InvalidArgument("at most 20 symbols per call".into())
        );
        // 20 distinct ones plus repeats are fine.
        let mut twenty = refs[..20].to_vec();
        twenty.extend_from_slice(&refs[..5]);
        assert_eq!(symbol_list(&input(None, &twenty)).unwrap().len(), 20);
    }

    #[test]
    fn input_defaults_and_parse_errors() {
        let i: Input = parse_input(json!({"symbol": "AAPL"})).unwrap();
        assert_eq!((i.benchmark.as_str(), i.days), ("SPY", 365));
        assert_eq!(
            Analysis::run_workflow("analyze", json!({"days": "many"}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        // Validation happens before any host call.
        assert_eq!(
            Analysis::run_workflow("analyze", json!({})).unwrap_err(),
            Error::InvalidArgument("give `symbol` or `symbols`".into())
        );
        assert_eq!(
            Analysis::run_workflow("scan", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `scan`".into())
        );
    }

    #[test]
    fn prompt_needs_symbols_and_a_known_name() {
        assert_eq!(
            Analysis::render_prompt("other", &PromptArgs::default()).unwrap_err(),
            Error::InvalidArgument("unknown prompt `other`".into())
        );
        assert_eq!(
            Analysis::render_prompt("analyze_market_conditions", &PromptArgs::default())
                .unwrap_err(),
            Error::InvalidArgument("argument `symbols` is required".into())
        );
        let names: Vec<String> = Analysis::prompts().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["analyze_market_conditions"]);
        let w = Analysis::workflows();
        assert_eq!(
            w.iter()
                .map(|w| (w.name.as_str(), w.access))
                .collect::<Vec<_>>(),
            [("analyze", Access::ReadOnly)]
        );
    }

    #[test]
    fn non_finite_values_become_null() {
        assert_eq!(opt(Some(1.5)), json!(1.5));
        assert_eq!(opt(Some(f64::NAN)), Value::Null);
        assert_eq!(opt(Some(f64::INFINITY)), Value::Null);
        assert_eq!(opt(None), Value::Null);
    }

    #[test]
    fn markdown_shows_missing_indicators_as_n_a() {
        let row = json!({
            "symbol": "AAPL",
            "last": 1234.5,
            "regime": {"trend": "uptrend", "momentum": "neutral", "volatility": "normal", "score": 2},
            "rsi14": 55.123,
            "returns": {"20d": 0.0321},
            "relative_strength": {},
            "sma": {"20": 1200.0}, "ema": {}, "macd": {"cross": null},
            "bollinger": null, "range": {"low": 1000.0, "high": 1300.0, "from_high_pct": -0.05},
        });
        let md = markdown(&[row], "QQQ");
        assert!(md.starts_with("# Market conditions\n\n| Symbol | Last | Trend | Momentum | Volatility | RSI 14 | 20d | RS vs QQQ 60d |\n"), "{md}");
        assert!(
            md.contains("| AAPL | 1,234.50 | uptrend | neutral | normal | 55.12 | 3.21% | n/a |\n"),
            "{md}"
        );
        assert!(
            md.contains(
                "- Moving averages: SMA20 1200.00, SMA50 n/a, SMA200 n/a; EMA12 n/a, EMA26 n/a\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("- Range over the window: 1000.00 – 1300.00 (-5.00% from the high)\n"),
            "{md}"
        );
        assert!(md.contains("- Regime score 2 "), "{md}");
    }
}
