//! Small reference answers: histogram data, news providers, SMART components, family codes,
//! soft-dollar tiers and user info.

use super::World;
use super::market::{BarSpan, Show};
use crate::api::{ClientId, Contract, ReqId, Response};

/// The news providers a paper account lists (free feeds).
pub(super) fn news_providers() -> Vec<(String, String)> {
    [
        ("BRFG", "Briefing.com General Market Columns"),
        ("BRFUPDN", "Briefing.com Analyst Actions"),
        ("DJNL", "Dow Jones Newsletters"),
    ]
    .iter()
    .map(|(c, n)| (c.to_string(), n.to_string()))
    .collect()
}

/// SMART routing components: bit number, exchange, single-letter code.
pub(super) fn smart_components() -> Vec<(i32, String, String)> {
    [
        (1, "NYSE", "N"),
        (2, "ARCA", "P"),
        (3, "NASDAQ", "Q"),
        (4, "BATS", "Z"),
        (5, "IEX", "V"),
        (6, "EDGX", "K"),
        (7, "AMEX", "A"),
        (8, "MEMX", "U"),
    ]
    .iter()
    .map(|(b, e, l)| (*b, e.to_string(), l.to_string()))
    .collect()
}

/// Parse a histogram period ("3 days", "1 week", "2 weeks", "1 month") into milliseconds.
pub(super) fn parse_period_ms(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    let mut it = t.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    let unit = it.next()?;
    if n <= 0 || it.next().is_some() {
        return None;
    }
    let day = 86_400_000;
    let per = match unit.trim_end_matches('s') {
        "day" | "d" => day,
        "week" | "w" => 7 * day,
        "month" | "m" => 30 * day,
        "year" | "y" => 365 * day,
        _ => return None,
    };
    Some(n.saturating_mul(per))
}

impl World {
    /// reqHistogramData: traded volume by price over the period, from the same 1-minute TRADES
    /// bars the historical service serves (each bar's volume goes to its WAP's bucket).
    pub(super) fn req_histogram(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        period: &str,
        now: i64,
    ) {
        let idx = match self.uni.resolve(contract) {
            Ok(i) => i,
            Err(msg) => {
                self.error(client, req_id, 200, &msg);
                return;
            }
        };
        let Some(ms) = parse_period_ms(period) else {
            self.error(
                client,
                req_id,
                321,
                &format!("Error validating request.-'bM' : cause - Invalid time period: {period}. Valid formats: <integer> days|weeks|months"),
            );
            return;
        };
        let span = ms.min(31 * 86_400_000);
        let bar = if span > 7 * 86_400_000 {
            BarSpan::Intraday(3_600_000)
        } else {
            BarSpan::Intraday(60_000)
        };
        let bars = self
            .mkt
            .bars(&self.uni, idx, now - span, now, bar, Show::Trades, now);
        let (lo, hi) = bars.iter().fold((f64::MAX, f64::MIN), |(l, h), b| {
            (l.min(b.low), h.max(b.high))
        });
        if bars.is_empty() || hi < lo {
            self.send(
                client,
                Response::HistogramData {
                    req_id,
                    entries: Vec::new(),
                },
            );
            return;
        }
        let tick = self.uni.get(idx).min_tick().max(1e-8);
        let step = (((hi - lo) / 40.0 / tick).ceil() * tick).max(tick);
        let n = ((hi - lo) / step).floor() as usize + 1;
        let mut counts = vec![0.0; n];
        for b in &bars {
            let px = if b.wap > 0.0 { b.wap } else { b.close };
            let i = (((px - lo) / step).floor() as usize).min(n - 1);
            counts[i] += b.volume.max(0.0);
        }
        let entries = counts
            .into_iter()
            .enumerate()
            .filter(|(_, c)| *c > 0.0)
            .map(|(i, c)| (((lo + i as f64 * step) * 1e8).round() / 1e8, c.round()))
            .collect();
        self.send(client, Response::HistogramData { req_id, entries });
    }
}
