//! Contract tools: ibkr_get_contract_details, ibkr_search_symbols.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{default_currency, default_exchange, default_sec_type};
use crate::broker::contracts::SymbolMatch;
use crate::broker::{ContractInfo, ContractSpec};
use crate::mcp::registry::{Kind, ToolDef, tool};

/// An instrument: symbol plus security type, exchange and currency.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContractParams {
    /// Ticker symbol, e.g. "AAPL", "VTI".
    pub symbol: String,
    /// Security type: STK, OPT, FUT, CASH, IND, ...
    #[serde(default = "default_sec_type", rename = "secType")]
    pub sec_type: String,
    /// Exchange; SMART for smart routing.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Currency, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
}

impl ContractParams {
    pub fn spec(&self) -> ContractSpec {
        ContractSpec::new(&self.symbol, &self.sec_type, &self.exchange, &self.currency)
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContractDetailsResult {
    pub count: usize,
    pub contracts: Vec<ContractInfo>,
}

/// Parameters of ibkr_search_symbols.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchSymbolsParams {
    /// Symbol prefix or part of the instrument name, e.g. "AAP" or "apple".
    pub pattern: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchSymbolsResult {
    pub count: usize,
    pub matches: Vec<SymbolMatch>,
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "contracts",
            "ibkr_get_contract_details",
            "Contract details",
            "Get contract details (conId, long name, industry, category, exchanges, order types, min \
         tick) for a symbol. Fails with TWS error 200 when no contract matches.",
            Kind::Query,
            |broker, p: ContractParams, _ctx| async move {
                let contracts = broker.contract_details(&p.spec()).await?;
                Ok(ContractDetailsResult {
                    count: contracts.len(),
                    contracts,
                })
            },
        ),
        tool(
            "contracts",
            "ibkr_search_symbols",
            "Search symbols",
            "Search instruments by symbol prefix or name (TWS reqMatchingSymbols): symbol, \
             security type, primary exchange, currency, name, conId and the derivative types \
             listed on it. TWS returns at most 16 matches; no match is an empty list.",
            Kind::Query,
            |broker, p: SearchSymbolsParams, _ctx| async move {
                let matches = broker.search_symbols(&p.pattern).await?;
                Ok(SearchSymbolsResult {
                    count: matches.len(),
                    matches,
                })
            },
        ),
    ]
}
