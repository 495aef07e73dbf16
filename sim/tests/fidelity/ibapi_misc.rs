//! ibapi 5.5 against the simulator: scanner, news bulletins, multi-account streams, delayed
//! market data, option computations, global cancel.

use crate::ibapi_common;

use std::time::Duration;

use ibapi::orders::{OrderStatusKind, order_builder};
use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim, wait_until};

const ACCOUNT: &str = "DU1234567";

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("request timed out")
}

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
async fn scanner_parameters_and_subscription() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let xml = within(client.scanner_parameters()).await.unwrap();
    assert!(
        xml.contains("<ScanParameterResponse") || xml.contains("<?xml"),
        "{}",
        &xml[..xml.len().min(200)]
    );

    let sub = ibapi::scanner::ScannerSubscription {
        number_of_rows: 5,
        instrument: Some("STK".into()),
        location_code: Some("STK.US.MAJOR".into()),
        scan_code: Some("MOST_ACTIVE".into()),
        ..Default::default()
    };
    let mut rows = within(client.scanner_subscription(&sub, &[]))
        .await
        .unwrap();
    let list: Vec<ibapi::scanner::ScannerData> = next_data(&mut rows).await;
    assert!(!list.is_empty() && list.len() <= 5, "{} rows", list.len());
    assert_eq!(list[0].rank, 0);
    assert!(
        list.iter()
            .all(|r| r.contract_details.contract.contract_id > 0)
    );
    assert_eq!(sim.admin().subscription_count("scanner"), 1);
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn news_bulletins_from_admin() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let mut sub = within(client.news_bulletins(false)).await.unwrap();
    wait_until("the news subscription registered", || {
        sim.admin().subscription_count("news") == 1
    })
    .await;
    let id = sim
        .admin()
        .bulletin(2, "ISLAND: exchange unavailable", "ISLAND");
    let b = loop {
        let b: ibapi::news::NewsBulletin = next_data(&mut sub).await;
        if b.message_id == id {
            break b;
        }
    };
    assert_eq!(b.message_type, 2);
    assert!(b.message.contains("unavailable"));
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn positions_multi_and_account_updates_multi() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let account = AccountId::from(ACCOUNT);

    let mut sub = within(client.positions_multi(Some(&account), None))
        .await
        .unwrap();
    let mut n = 0;
    while let PositionUpdateMulti::Position(p) = next_data(&mut sub).await {
        assert_eq!(p.account, ACCOUNT);
        n += 1;
    }
    assert!(n >= 5, "positions multi: {n}");

    let mut sub = within(client.account_updates_multi(Some(&account), None))
        .await
        .unwrap();
    let mut keys = Vec::new();
    while let AccountUpdateMulti::AccountMultiValue(v) = next_data(&mut sub).await {
        keys.push(v.key.clone());
    }
    assert!(keys.iter().any(|k| k == "NetLiquidation"), "{keys:?}");
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn delayed_market_data_and_option_computations() {
    // An account without live data permissions: TWS serves delayed data (10167 warning).
    let sim = ibapi_common::start_sim_world(|w| {
        w.market_data = tws_sim::world::config::DataPermissions::Delayed;
    })
    .await;
    let client = connect(&sim, 1).await;
    let mut sub = within(
        client
            .market_data(&Contract::stock("MSFT").build())
            .subscribe(),
    )
    .await
    .unwrap();
    let mut announced = false;
    let mut delayed_tick = false;
    let mut warned = false;
    for _ in 0..200 {
        match within(sub.next()).await.expect("stream open") {
            Ok(SubscriptionItem::Data(TickTypes::MarketDataType(t))) => {
                announced = t == MarketDataType::Delayed
            }
            Ok(SubscriptionItem::Data(TickTypes::PriceSize(p))) => {
                delayed_tick |= (p.price_tick_type as i32) >= 66
            }
            Ok(SubscriptionItem::Data(TickTypes::Price(p))) => {
                delayed_tick |= (p.tick_type as i32) >= 66
            }
            Ok(SubscriptionItem::Notice(n)) => warned |= n.code == 10167,
            Err(ibapi::Error::Notice(n)) => warned |= n.code == 10167,
            _ => {}
        }
        if announced && delayed_tick && warned {
            break;
        }
    }
    assert!(warned, "10167 warning");
    assert!(announced, "market data type 3 announced");
    assert!(delayed_tick, "delayed tick types");
    sub.cancel().await;

    // Option market data carries option computations (greeks).
    let spy = within(client.contract_details(&Contract::stock("SPY").build()))
        .await
        .unwrap();
    let mut chains = within(
        client
            .option_chain("SPY", SecurityType::Stock, spy[0].contract.contract_id)
            .subscribe(),
    )
    .await
    .unwrap();
    let chain: ibapi::contracts::OptionChain = next_data(&mut chains).await;
    let strike = chain.strikes[chain.strikes.len() / 2];
    let opt = Contract::option(
        "SPY",
        &chain.expirations[0],
        strike,
        ibapi::contracts::OptionRight::Put,
    );
    let mut sub = within(client.market_data(&opt).subscribe()).await.unwrap();
    let mut greeks = None;
    for _ in 0..200 {
        if let TickTypes::OptionComputation(c) = next_data(&mut sub).await
            && c.delta.is_some()
        {
            greeks = Some(c);
            break;
        }
    }
    let g = greeks.expect("option computation with greeks");
    assert!(
        g.delta.unwrap() < 0.0 && g.delta.unwrap() > -1.0,
        "put delta {g:?}"
    );
    assert!(g.implied_volatility.is_some_and(|v| v > 0.0));
    sub.cancel().await;
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn global_cancel_cancels_everything() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let aapl = Contract::stock("AAPL").build();
    let px = sim.admin().with_world(|w| w.quote("AAPL")).unwrap().bid;
    let low = ((px * 0.5) * 100.0).round() / 100.0;
    for _ in 0..3 {
        let id = client.next_order_id();
        within(client.submit_order(
            id,
            &aapl,
            &order_builder::limit_order(Action::Buy, 1.0, low),
        ))
        .await
        .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim
        .admin()
        .orders()
        .iter()
        .filter(|o| o.status == "Submitted")
        .count()
        < 3
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            sim.admin().orders()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    within(client.global_cancel()).await.unwrap();
    while !sim.admin().orders().iter().all(|o| o.status == "Cancelled") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            sim.admin().orders()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Completed orders show them cancelled.
    let mut done = within(client.completed_orders(true)).await.unwrap();
    let mut cancelled = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(Ok(item))) = tokio::time::timeout_at(end, done.next()).await {
        if let SubscriptionItem::Data(Orders::OrderData(d)) = item
            && d.order_state.status == OrderStatusKind::Cancelled
        {
            cancelled += 1;
        }
        if cancelled == 3 {
            break;
        }
    }
    assert_eq!(cancelled, 3);
    client.disconnect().await;
    sim.shutdown().await;
}
