//! Option chain parameters (reqSecDefOptParams) through the broker adapter and through the
//! plugin backend's `market-data.get-option-chain`, against the simulator's listed options.

use e2e::TestEnv;
use e2e::ibkr_mcp::broker::{BrokerError, ContractSpec};
use e2e::ibkr_mcp::plugins::PluginBackend;
use e2e::ibkr_mcp::plugins::bindings::types as w;
use e2e::ibkr_mcp::plugins::broker_backend::BrokerBackend;

fn ascending<T: PartialOrd>(v: &[T]) -> bool {
    v.windows(2).all(|p| p[0] < p[1])
}

#[tokio::test]
async fn option_chain_lists_expirations_and_strikes() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let broker = env.host.broker.clone();
    let spy = ContractSpec::stock("SPY");
    let con_id = broker.contract_details(&spy).await?[0].con_id;

    let chains = broker.option_chain(&spy).await?;
    let smart = chains
        .iter()
        .find(|c| c.exchange == "SMART")
        .unwrap_or_else(|| panic!("no SMART chain: {chains:?}"));
    assert_eq!(smart.underlying_con_id, con_id);
    assert_eq!(smart.trading_class, "SPY");
    assert_eq!(smart.multiplier, "100");
    assert!(!smart.expirations.is_empty() && !smart.strikes.is_empty());
    assert!(ascending(&smart.expirations), "{:?}", smart.expirations);
    assert!(ascending(&smart.strikes), "{:?}", smart.strikes);
    assert!(
        smart
            .expirations
            .iter()
            .all(|e| e.len() == 8 && e.bytes().all(|b| b.is_ascii_digit())),
        "{:?}",
        smart.expirations
    );

    // Every (expiration, strike) of the chain is a listed option: spot-check one.
    let mut opt = ContractSpec::new("SPY", "OPT", "SMART", "USD");
    opt.last_trade_date_or_contract_month = smart.expirations[0].clone();
    opt.strike = smart.strikes[smart.strikes.len() / 2];
    opt.right = "C".into();
    let d = broker.contract_details(&opt).await?;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].trading_class, "SPY");

    // The same through a known con id (no contract-details lookup first).
    let mut by_id = spy.clone();
    by_id.con_id = con_id;
    assert_eq!(broker.option_chain(&by_id).await?, chains);

    // An underlying without options.
    let err = broker
        .option_chain(&ContractSpec::stock("NOSUCHSYMBOL"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BrokerError::NotFound(_) | BrokerError::Tws { .. }),
        "{err:?}"
    );

    // The plugin API's market-data.get-option-chain answers from the same request.
    let backend = BrokerBackend::new(broker.clone());
    let underlying = w::Contract {
        con_id: 0,
        symbol: "SPY".into(),
        sec_type: w::SecType::Stock,
        exchange: "SMART".into(),
        primary_exchange: None,
        currency: "USD".into(),
        last_trade_date: None,
        strike: None,
        right: None,
        multiplier: None,
        local_symbol: None,
        trading_class: None,
        combo_legs: vec![],
    };
    let wit = backend
        .option_chain(underlying)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ws = wit.iter().find(|c| c.exchange == "SMART").expect("SMART");
    assert_eq!(ws.underlying_con_id, i64::from(con_id));
    assert_eq!(ws.expirations, smart.expirations);
    assert_eq!(ws.strikes, smart.strikes);
    assert_eq!(ws.trading_class, "SPY");
    assert_eq!(ws.multiplier, "100");

    env.shutdown().await;
    Ok(())
}
