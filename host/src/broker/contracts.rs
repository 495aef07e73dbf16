//! Contract lookups.

use super::convert::{contract_info, to_contract};
use super::{Broker, BrokerError, BrokerResult, ContractInfo, ContractSpec};

impl Broker {
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
}
