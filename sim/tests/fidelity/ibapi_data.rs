//! ibapi 5.5 against the simulator: reference data, market data and historical data.

use crate::ibapi_common;

use std::time::Duration;

use ibapi::contracts::OptionRight;
use ibapi::market_data::historical::BarTimestamp;
use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim, wait_until};

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("request timed out")
}

#[tokio::test]
async fn contract_details_stock_future_fx_option_and_unknown() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;

    // Stock.
    let d = within(client.contract_details(&Contract::stock("AAPL").build()))
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    let aapl = &d[0];
    assert_eq!(aapl.contract.symbol.to_string(), "AAPL");
    assert_eq!(aapl.contract.security_type, SecurityType::Stock);
    assert!(aapl.contract.contract_id > 0);
    assert!(aapl.min_tick > 0.0);
    assert!(!aapl.long_name.is_empty());
    assert!(!aapl.market_rule_ids.is_empty());
    assert!(!aapl.trading_hours.is_empty());

    // Future (front month).
    let d = within(client.contract_details(&Contract::futures("ES").front_month().build())).await;
    let d = match d {
        Ok(d) if !d.is_empty() => d,
        // The client's front month may differ from the simulator's listed contract; fall back to
        // an unconstrained query.
        _ => {
            let mut c = Contract::futures("ES").front_month().build();
            c.last_trade_date_or_contract_month.clear();
            within(client.contract_details(&c)).await.unwrap()
        }
    };
    assert!(!d.is_empty());
    assert_eq!(d[0].contract.security_type, SecurityType::Future);
    assert_eq!(d[0].contract.multiplier, "50");
    assert!(
        d[0].contract.last_trade_date.is_some(),
        "futures carry lastTradeDate"
    );

    // FX.
    let d = within(client.contract_details(&Contract::forex("EUR", "USD").build()))
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].contract.security_type, SecurityType::ForexPair);
    assert_eq!(d[0].contract.currency.to_string(), "USD");

    // Option: pick a real expiry/strike from the chain.
    let spy = within(client.contract_details(&Contract::stock("SPY").build()))
        .await
        .unwrap();
    let spy_id = spy[0].contract.contract_id;
    let mut chains = within(
        client
            .option_chain("SPY", SecurityType::Stock, spy_id)
            .subscribe(),
    )
    .await
    .unwrap()
    .filter_data();
    let chain = within(chains.next())
        .await
        .expect("one chain")
        .expect("chain decodes");
    assert_eq!(chain.underlying_contract_id, spy_id);
    assert!(!chain.expirations.is_empty() && !chain.strikes.is_empty());
    let expiry = chain.expirations[0].clone();
    let strike = chain.strikes[chain.strikes.len() / 2];
    let opt = Contract::option("SPY", &expiry, strike, OptionRight::Call);
    let d = within(client.contract_details(&opt)).await.unwrap();
    assert_eq!(d.len(), 1, "exactly one SPY {expiry} {strike} C");
    assert_eq!(d[0].contract.security_type, SecurityType::Option);
    assert_eq!(d[0].contract.strike, strike);
    assert_eq!(d[0].contract.multiplier, "100");
    assert_eq!(d[0].under_contract_id, spy_id);

    // Unknown symbol: TWS error 200.
    let err = within(client.contract_details(&Contract::stock("ZZZZNOPE").build())).await;
    match err {
        Err(e) => assert!(
            format!("{e:?}").contains("200"),
            "expected error 200, got {e:?}"
        ),
        Ok(v) => assert!(v.is_empty(), "unknown symbol returned {v:?}"),
    }

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn matching_symbols_and_market_rule() {
    let sim = start_sim().await;
    let client = connect(&sim, 2).await;

    let hits = within(client.matching_symbols("AAP")).await.unwrap();
    assert!(
        hits.iter().any(|h| h.contract.symbol.as_str() == "AAPL"),
        "{hits:?}"
    );

    let d = within(client.contract_details(&Contract::stock("AAPL").build()))
        .await
        .unwrap();
    let rule_id: i32 = d[0].market_rule_ids[0].parse().unwrap();
    let rule = within(client.market_rule(rule_id)).await.unwrap();
    assert_eq!(rule.market_rule_id, rule_id);
    assert!(!rule.price_increments.is_empty());
    assert!(rule.price_increments[0].increment > 0.0);

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn market_data_streaming_and_snapshot() {
    let sim = start_sim().await;
    let client = connect(&sim, 3).await;
    let aapl = Contract::stock("AAPL").build();

    let mut sub = within(client.market_data(&aapl).subscribe()).await.unwrap();
    let (mut bid, mut ask, mut last, mut sizes) = (None, None, None, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (bid.is_none() || ask.is_none() || last.is_none() || sizes == 0)
        && tokio::time::Instant::now() < deadline
    {
        let item = within(sub.next())
            .await
            .expect("stream open")
            .expect("tick decodes");
        let SubscriptionItem::Data(tick) = item else {
            continue;
        };
        match tick {
            TickTypes::PriceSize(p) => {
                use ibapi::contracts::tick_types::TickType;
                match p.price_tick_type {
                    TickType::Bid => bid = Some(p.price),
                    TickType::Ask => ask = Some(p.price),
                    TickType::Last => last = Some(p.price),
                    _ => {}
                }
                sizes += 1;
            }
            TickTypes::Price(p) => {
                use ibapi::contracts::tick_types::TickType;
                match p.tick_type {
                    TickType::Bid => bid = Some(p.price),
                    TickType::Ask => ask = Some(p.price),
                    TickType::Last => last = Some(p.price),
                    _ => {}
                }
            }
            TickTypes::Size(_) => sizes += 1,
            _ => {}
        }
    }
    let (bid, ask) = (bid.expect("bid"), ask.expect("ask"));
    assert!(bid > 0.0 && ask >= bid, "bid {bid} ask {ask}");
    assert!(last.expect("last") > 0.0);
    assert!(sizes > 0);
    assert_eq!(sim.admin().subscription_count("market_data"), 1);
    sub.cancel().await;
    // Cancel reaches the simulator.
    wait_until("the market data subscription cancelled", || {
        sim.admin().subscription_count("market_data") == 0
    })
    .await;

    // Snapshot.
    let ticks = within(
        client
            .market_data(&aapl)
            .snapshot_once(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let q = Quote::from_ticks(&ticks);
    assert!(q.bid.is_some() && q.ask.is_some(), "snapshot quote {q:?}");

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn historical_bars_and_head_timestamp() {
    let sim = start_sim().await;
    let client = connect(&sim, 4).await;
    let aapl = Contract::stock("AAPL").build();

    // Daily bars for a year: dates, not times.
    let daily = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Day)
            .duration(1.years())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap();
    assert!(daily.bars.len() > 200, "daily bars: {}", daily.bars.len());
    assert!(daily.bars.iter().all(|b| b.date.is_date()));
    assert!(
        daily
            .bars
            .iter()
            .all(|b| b.high >= b.low && b.high >= b.open.min(b.close))
    );
    assert!(daily.end > daily.start);

    // 5-minute bars for a day: timestamps, ascending.
    let intraday = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Min5)
            .duration(1.days())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap();
    assert!(!intraday.bars.is_empty());
    assert!(intraday.bars.iter().all(|b| b.date.is_date_time()));
    let times: Vec<i64> = intraday
        .bars
        .iter()
        .map(|b| match b.date {
            BarTimestamp::DateTime(t) => t.unix_timestamp(),
            BarTimestamp::Date(_) => unreachable!(),
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "bars ascending");

    // Hourly midpoint bars for a week, FX.
    let fx = within(
        client
            .historical_data(
                &Contract::forex("EUR", "USD").build(),
                HistoricalBarSize::Hour,
            )
            .duration(1.weeks())
            .what_to_show(HistoricalWhatToShow::MidPoint)
            .fetch(),
    )
    .await
    .unwrap();
    assert!(!fx.bars.is_empty());
    assert!(
        fx.bars.iter().all(|b| b.close > 0.5 && b.close < 2.0),
        "EURUSD level"
    );

    // 1-minute bars for an hour (seconds duration).
    let m1 = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Min)
            .duration(3600.seconds())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap();
    assert!(
        !m1.bars.is_empty() && m1.bars.len() <= 61,
        "1-min bars: {}",
        m1.bars.len()
    );

    let head =
        within(client.head_timestamp(&aapl, HistoricalWhatToShow::Trades, TradingHours::Regular))
            .await
            .unwrap();
    let first = match daily.bars[0].date {
        BarTimestamp::Date(d) => d.midnight().assume_utc(),
        BarTimestamp::DateTime(t) => t,
    };
    assert!(
        head <= first,
        "head timestamp {head} after first bar {first}"
    );

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn historical_keep_up_to_date_streams_updates() {
    let sim = start_sim().await;
    let client = connect(&sim, 5).await;
    let aapl = Contract::stock("AAPL").build();
    let mut sub = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Sec5)
            .duration(300.seconds())
            .what_to_show(HistoricalWhatToShow::Trades)
            .stream(),
    )
    .await
    .unwrap();
    let mut got_history = false;
    let mut got_update = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(got_history && got_update) && tokio::time::Instant::now() < deadline {
        let Some(item) = within(sub.next()).await else {
            break;
        };
        match item.expect("decodes") {
            SubscriptionItem::Data(
                ibapi::market_data::historical::HistoricalBarUpdate::Historical(h),
            ) => got_history = !h.bars.is_empty(),
            SubscriptionItem::Data(
                ibapi::market_data::historical::HistoricalBarUpdate::Update(_),
            ) => got_update = true,
            _ => {}
        }
    }
    assert!(got_history, "initial bars");
    assert!(got_update, "keepUpToDate updates");
    client.disconnect().await;
    sim.shutdown().await;
}
