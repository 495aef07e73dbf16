//! Contract lookups.

use futures::StreamExt;
use ibapi::contracts::SecurityType;
use ibapi::subscriptions::SubscriptionItem;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::convert::{contract_info, to_contract};
use super::{Broker, BrokerError, BrokerResult, ContractInfo, ContractSpec, OptionChain};

/// One symbol-search hit (reqMatchingSymbols).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SymbolMatch {
    pub symbol: String,
    pub sec_type: String,
    pub primary_exchange: String,
    pub currency: String,
    /// Company or instrument name when TWS sends one.
    pub description: String,
    pub con_id: i32,
    /// Derivative security types listed on this instrument (e.g. `OPT`, `FUT`).
    pub derivative_sec_types: Vec<String>,
}

/// Longest pattern the host sends to TWS (a host-side limit; longer ones are rejected).
pub const MAX_SYMBOL_PATTERN: usize = 64;

impl Broker {
    /// Instruments whose symbol or name matches `pattern` (reqMatchingSymbols), in the order
    /// TWS ranks them (TWS returns at most 16). An empty result is not an error. An empty or
    /// overlong pattern is `InvalidArgument`.
    pub async fn search_symbols(&self, pattern: &str) -> BrokerResult<Vec<SymbolMatch>> {
        let pattern = pattern.trim().to_string();
        if pattern.is_empty() || pattern.len() > MAX_SYMBOL_PATTERN {
            return Err(BrokerError::InvalidArgument {
                arg: "pattern".into(),
                reason: format!("must be 1 to {MAX_SYMBOL_PATTERN} characters"),
            });
        }
        let found = self
            .call("symbol search", |c| async move {
                Ok(c.matching_symbols(&pattern).await?)
            })
            .await?;
        Ok(found
            .into_iter()
            .map(|d| SymbolMatch {
                symbol: d.contract.symbol.to_string(),
                sec_type: d.contract.security_type.to_string(),
                primary_exchange: d.contract.primary_exchange.to_string(),
                currency: d.contract.currency.to_string(),
                description: d.contract.description,
                con_id: d.contract.contract_id,
                derivative_sec_types: d.derivative_security_types,
            })
            .collect())
    }

    /// Contract details for a (possibly partial) contract spec (reqContractDetails).
    /// Fails with `NotFound` when TWS returns no contract.
    pub async fn contract_details(&self, spec: &ContractSpec) -> BrokerResult<Vec<ContractInfo>> {
        let contract = to_contract(spec)?;
        let details = self
            .call("contract details", |c| async move {
                Ok(c.contract_details(&contract).await?)
            })
            .await?;
        if details.is_empty() {
            return Err(BrokerError::NotFound(format!(
                "no contract for {} {} on {} in {}",
                spec.symbol, spec.sec_type, spec.exchange, spec.currency
            )));
        }
        Ok(details.iter().map(contract_info).collect())
    }

    /// Option chain parameters of an underlying (reqSecDefOptParams): one entry per exchange
    /// the options trade on, expirations and strikes ascending. The underlying's contract id
    /// is resolved through contract details when the spec has none. `exchange` of a futures
    /// underlying selects the futures-options exchange; for other underlyings every listing
    /// exchange is returned (TWS answers nothing when one is named).
    pub async fn option_chain(&self, underlying: &ContractSpec) -> BrokerResult<Vec<OptionChain>> {
        let contract = to_contract(underlying)?;
        let sec_type = contract.security_type.clone();
        let (symbol, con_id) = if underlying.con_id != 0 {
            (contract.symbol.0.clone(), underlying.con_id)
        } else {
            let details = self.contract_details(underlying).await?;
            let d = &details[0];
            (d.symbol.clone(), d.con_id)
        };
        let fut_fop_exchange = match sec_type {
            SecurityType::Future => Some(underlying.exchange.trim().to_ascii_uppercase())
                .filter(|e| !e.is_empty() && e != "SMART"),
            _ => None,
        };
        let chains = self
            .call("option chain", |c| async move {
                let builder = c.option_chain(&symbol, sec_type, con_id);
                let builder = match fut_fop_exchange.as_deref() {
                    Some(e) => builder.exchange(e),
                    None => builder,
                };
                let mut sub = builder.subscribe().await?;
                let mut out = Vec::new();
                while let Some(item) = sub.next().await {
                    match item {
                        Ok(SubscriptionItem::Data(ch)) => out.push(ch),
                        Ok(SubscriptionItem::Notice(n)) => {
                            tracing::debug!(code = n.code, "option chain notice: {}", n.message)
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(out)
            })
            .await?;
        if chains.is_empty() {
            return Err(BrokerError::NotFound(format!(
                "no option chain for {} {}",
                underlying.symbol, underlying.sec_type
            )));
        }
        Ok(chains
            .into_iter()
            .map(|ch| {
                let mut expirations = ch.expirations;
                expirations.sort();
                expirations.dedup();
                let mut strikes = ch.strikes;
                strikes.retain(|k| k.is_finite());
                strikes.sort_by(f64::total_cmp);
                strikes.dedup();
                OptionChain {
                    underlying_con_id: ch.underlying_contract_id,
                    exchange: ch.exchange,
                    trading_class: ch.trading_class,
                    multiplier: ch.multiplier,
                    expirations,
                    strikes,
                }
            })
            .collect())
    }
}
