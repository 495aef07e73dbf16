//! Market scanner: parameters XML and TOP_PERC_GAIN / TOP_PERC_LOSE / MOST_ACTIVE /
//! HOT_BY_VOLUME scans over the simulated stocks and ETFs.

use super::instruments::AssetKind;
use super::{ScanSub, World};
use crate::api::{ClientId, ReqId, Response, ScanRow, ScannerSubscription};

/// A compact scanner parameters document in TWS's format.
pub const PARAMETERS_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ScanParameterResponse>
  <InstrumentList varName="instrumentList">
    <Instrument>
      <name>US Stocks</name>
      <type>STK</type>
      <filters>PRICE,VOLUME,MKTCAP</filters>
      <group>STK.GLOBAL</group>
      <shortName>US</shortName>
    </Instrument>
    <Instrument>
      <name>US Equity ETFs</name>
      <type>ETF.EQ.US</type>
      <filters>PRICE,VOLUME</filters>
      <group>STK.GLOBAL</group>
      <shortName>US ETFs</shortName>
    </Instrument>
  </InstrumentList>
  <LocationTree varName="locationTree">
    <Location>
      <displayName>US Stocks</displayName>
      <locationCode>STK.US</locationCode>
      <instruments>STK</instruments>
      <routeExchange>SMART</routeExchange>
      <LocationTree>
        <Location>
          <displayName>Listed/NASDAQ</displayName>
          <locationCode>STK.US.MAJOR</locationCode>
          <instruments>STK</instruments>
        </Location>
      </LocationTree>
    </Location>
  </LocationTree>
  <ScanTypeList varName="scanTypeList">
    <ScanType>
      <displayName>Top % Gainers</displayName>
      <scanCode>TOP_PERC_GAIN</scanCode>
      <instruments>STK,ETF.EQ.US</instruments>
    </ScanType>
    <ScanType>
      <displayName>Top % Losers</displayName>
      <scanCode>TOP_PERC_LOSE</scanCode>
      <instruments>STK,ETF.EQ.US</instruments>
    </ScanType>
    <ScanType>
      <displayName>Most Active</displayName>
      <scanCode>MOST_ACTIVE</scanCode>
      <instruments>STK,ETF.EQ.US</instruments>
    </ScanType>
    <ScanType>
      <displayName>Hot Contracts by Volume</displayName>
      <scanCode>HOT_BY_VOLUME</scanCode>
      <instruments>STK,ETF.EQ.US</instruments>
    </ScanType>
  </ScanTypeList>
  <FilterList varName="filterList">
    <RangeFilter>
      <id>PRICE</id>
      <AbstractField><code>price</code></AbstractField>
    </RangeFilter>
    <RangeFilter>
      <id>VOLUME</id>
      <AbstractField><code>volume</code></AbstractField>
    </RangeFilter>
  </FilterList>
</ScanParameterResponse>
"#;

/// Supported scan codes.
pub const SCAN_CODES: &[&str] = &[
    "TOP_PERC_GAIN",
    "TOP_PERC_LOSE",
    "MOST_ACTIVE",
    "HOT_BY_VOLUME",
];

impl World {
    pub(super) fn req_scanner(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        sub: ScannerSubscription,
        now: i64,
    ) {
        if self
            .scan_subs
            .iter()
            .any(|s| s.client == client && s.req_id == req_id)
        {
            self.error(
                client,
                req_id,
                385,
                "Duplicate ticker ID for API scanner subscription.",
            );
            return;
        }
        let code = sub.scan_code.trim().to_ascii_uppercase();
        if !SCAN_CODES.contains(&code.as_str()) {
            self.error(
                client,
                req_id,
                162,
                &format!("Historical Market Data Service error message:Scanner code {code} is not supported"),
            );
            return;
        }
        let rows = self.scan(&sub, now);
        self.send(client, Response::ScannerData { req_id, rows });
        self.scan_subs.push(ScanSub {
            client,
            req_id,
            sub,
            next_real: self.clock.real_now() + self.cfg.scanner_interval_ms as i64,
        });
    }

    /// Run a scan at `now`.
    pub fn scan(&mut self, sub: &ScannerSubscription, now: i64) -> Vec<ScanRow> {
        let code = sub.scan_code.trim().to_ascii_uppercase();
        let etf_only = sub.instrument.to_ascii_uppercase().starts_with("ETF");
        let mut cands: Vec<(f64, usize)> = Vec::new();
        for idx in 0..self.uni.len() {
            let inst = self.uni.get(idx);
            let ok = match inst.kind {
                AssetKind::Stock => !etf_only,
                AssetKind::Etf => true,
                _ => false,
            };
            if !ok {
                continue;
            }
            let st = self.mkt.day_stats(&self.uni, idx, now);
            let last = self.mkt.quote(&self.uni, idx, now).last;
            if sub.above_price.is_some_and(|p| last <= p)
                || sub.below_price.is_some_and(|p| last >= p)
            {
                continue;
            }
            if sub.above_volume.is_some_and(|v| st.volume <= v as f64) {
                continue;
            }
            let chg = if st.prev_close > 0.0 {
                last / st.prev_close - 1.0
            } else {
                0.0
            };
            let score = match code.as_str() {
                "TOP_PERC_GAIN" => chg,
                "TOP_PERC_LOSE" => -chg,
                "MOST_ACTIVE" => st.volume,
                _ => st.volume / self.uni.get(idx).avg_volume.max(1.0),
            };
            cands.push((score, idx));
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let n = if sub.number_of_rows > 0 {
            sub.number_of_rows.min(50)
        } else {
            50
        } as usize;
        cands
            .into_iter()
            .take(n)
            .enumerate()
            .map(|(rank, (_, idx))| ScanRow {
                rank: rank as i32,
                details: self.uni.get(idx).details.clone(),
                distance: String::new(),
                benchmark: String::new(),
                projection: String::new(),
                legs: String::new(),
            })
            .collect()
    }

    pub(super) fn emit_scanners(&mut self, real: i64, sim: i64) {
        if !self.scan_subs.iter().any(|s| s.next_real <= real) {
            return;
        }
        let mut subs = std::mem::take(&mut self.scan_subs);
        for s in subs.iter_mut().filter(|s| s.next_real <= real) {
            s.next_real = real + self.cfg.scanner_interval_ms.max(1) as i64;
            let rows = self.scan(&s.sub, sim);
            self.send(
                s.client,
                Response::ScannerData {
                    req_id: s.req_id,
                    rows,
                },
            );
        }
        subs.append(&mut self.scan_subs);
        self.scan_subs = subs;
    }
}
