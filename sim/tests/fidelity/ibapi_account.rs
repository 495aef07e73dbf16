//! ibapi 5.5 against the simulator: account summary, positions, account updates, PnL.

use crate::ibapi_common;

use std::time::Duration;

use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim};

const ACCOUNT: &str = "DU1234567";

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("request timed out")
}

/// Next data item of a subscription (notices skipped).
async fn next_data<S, D>(sub: &mut S) -> D
where
    S: futures::Stream<Item = Result<SubscriptionItem<D>, ibapi::Error>> + Unpin,
{
    loop {
        match within(sub.next())
            .await
            .expect("stream ended")
            .expect("item decodes")
        {
            SubscriptionItem::Data(d) => return d,
            SubscriptionItem::Notice(_) => continue,
        }
    }
}

#[tokio::test]
async fn account_summary_all_tags() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let mut sub =
        within(client.account_summary(&AccountGroup::from("All"), AccountSummaryTags::ALL))
            .await
            .unwrap();
    let mut tags = std::collections::HashMap::new();
    while let AccountSummaryResult::Summary(s) = next_data(&mut sub).await {
        assert_eq!(s.account, ACCOUNT);
        tags.insert(s.tag.clone(), s.value.clone());
    }
    for t in [
        "NetLiquidation",
        "TotalCashValue",
        "BuyingPower",
        "AvailableFunds",
        "GrossPositionValue",
    ] {
        assert!(tags.contains_key(t), "missing tag {t}: {tags:?}");
    }
    let nlv: f64 = tags["NetLiquidation"].parse().unwrap();
    assert!(nlv > 100_000.0, "net liquidation {nlv}");
    assert_eq!(sim.admin().subscription_count("account_summary"), 1);
    sub.cancel().await;
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn positions_and_account_updates() {
    let sim = start_sim().await;
    let client = connect(&sim, 2).await;

    let mut sub = within(client.positions()).await.unwrap();
    let mut positions = Vec::new();
    while let PositionUpdate::Position(p) = next_data(&mut sub).await {
        positions.push(p);
    }
    let aapl = positions
        .iter()
        .find(|p| p.contract.symbol.as_str() == "AAPL")
        .expect("starting portfolio holds AAPL");
    assert_eq!(aapl.account, ACCOUNT);
    assert_eq!(aapl.position, 450.0);
    assert!(aapl.average_cost > 0.0);
    assert!(aapl.contract.contract_id > 0);
    sub.cancel().await;

    let mut sub = within(client.account_updates(&AccountId::from(ACCOUNT)))
        .await
        .unwrap();
    let (mut values, mut portfolio, mut time) = (0, Vec::new(), false);
    loop {
        match next_data(&mut sub).await {
            AccountUpdate::AccountValue(v) => {
                values += 1;
                assert!(!v.key.is_empty());
            }
            AccountUpdate::PortfolioValue(p) => portfolio.push(p),
            AccountUpdate::UpdateTime(_) => time = true,
            AccountUpdate::End => break,
        }
    }
    assert!(values > 10, "account values: {values}");
    assert!(time, "account update time");
    let p = portfolio
        .iter()
        .find(|p| p.contract.symbol.as_str() == "AAPL")
        .expect("AAPL in portfolio");
    assert_eq!(p.position, 450.0);
    assert!((p.market_value - p.position * p.market_price).abs() < 1.0);
    sub.cancel().await;

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn pnl_and_pnl_single() {
    let sim = start_sim().await;
    let client = connect(&sim, 3).await;
    let account = AccountId::from(ACCOUNT);

    let mut sub = within(client.pnl(&account, None)).await.unwrap();
    let pnl: PnL = next_data(&mut sub).await;
    assert!(pnl.daily_pnl.is_finite());
    assert!(pnl.unrealized_pnl.is_some());
    assert_eq!(sim.admin().subscription_count("pnl"), 1);
    sub.cancel().await;

    let d = within(client.contract_details(&Contract::stock("AAPL").build()))
        .await
        .unwrap();
    let con_id = d[0].contract.contract_id;
    let mut sub = within(client.pnl_single(&account, ContractId(con_id), None))
        .await
        .unwrap();
    let single: PnLSingle = next_data(&mut sub).await;
    assert_eq!(single.position, 450.0);
    assert!(single.value > 0.0);
    // Periodic pushes keep coming.
    let again: PnLSingle = tokio::time::timeout(Duration::from_secs(5), next_data(&mut sub))
        .await
        .expect("second PnL single push");
    assert_eq!(again.position, 450.0);
    sub.cancel().await;

    client.disconnect().await;
    sim.shutdown().await;
}
