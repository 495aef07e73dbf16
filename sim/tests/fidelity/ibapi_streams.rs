//! ibapi 5.5 against the simulator: real-time bars, tick-by-tick data, market depth and
//! historical ticks.

use crate::ibapi_common;

use ibapi::market_data::historical::BarTimestamp;
use ibapi::market_data::realtime::MarketDepths;
use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim_world, wait_until};
use time::OffsetDateTime;

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("request timed out")
}

fn sim_now(sim: &tws_sim::SimHandle) -> OffsetDateTime {
    let ms = sim.admin().sim_time_ms();
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap()
}

#[tokio::test]
async fn realtime_bars_are_the_5s_historical_bars() {
    // 20x clock: a 5-second bar every 250 ms of real time.
    let sim = start_sim_world(|w| w.clock_speed = 20.0).await;
    let client = connect(&sim, 1).await;
    let aapl = Contract::stock("AAPL").build();

    let mut sub = within(
        client
            .realtime_bars(&aapl)
            .what_to_show(RealtimeWhatToShow::Trades)
            .subscribe(),
    )
    .await
    .expect("realtime bars subscribe")
    .filter_data();
    let mut bars = Vec::new();
    while bars.len() < 3 {
        let b = within(sub.next()).await.expect("stream open").expect("bar");
        bars.push(b);
    }
    assert_eq!(sim.admin().subscription_count("realtime_bars"), 1);
    for w in bars.windows(2) {
        assert_eq!(
            (w[1].date - w[0].date).whole_seconds(),
            5,
            "consecutive 5-second bars"
        );
    }
    for b in &bars {
        assert!(b.low <= b.open && b.open <= b.high, "{b:?}");
        assert!(b.low <= b.close && b.close <= b.high, "{b:?}");
        assert!(b.volume > 0.0 && b.count > 0, "{b:?}");
        assert_eq!(b.date.unix_timestamp() % 5, 0);
    }
    drop(sub);

    // The same bars from the historical service.
    let hist = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Sec5)
            .duration(300.seconds())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch(),
    )
    .await
    .expect("historical 5 s bars");
    for b in &bars {
        let h = hist
            .bars
            .iter()
            .find(|h| matches!(h.date, BarTimestamp::DateTime(t) if t == b.date))
            .unwrap_or_else(|| panic!("historical bar at {}", b.date));
        assert_eq!(
            (h.open, h.high, h.low, h.close),
            (b.open, b.high, b.low, b.close),
            "real-time and historical bars agree"
        );
        assert_eq!(h.volume, b.volume);
    }

    // MIDPOINT works on FX; TRADES on FX is refused fast with an error.
    let eur = Contract::forex("EUR", "USD").build();
    let mut mid = within(
        client
            .realtime_bars(&eur)
            .what_to_show(RealtimeWhatToShow::MidPoint)
            .subscribe(),
    )
    .await
    .unwrap()
    .filter_data();
    let b = within(mid.next()).await.unwrap().unwrap();
    assert!(b.close > 0.5 && b.close < 2.0, "{b:?}");
    let mut bad = within(
        client
            .realtime_bars(&eur)
            .what_to_show(RealtimeWhatToShow::Trades)
            .subscribe(),
    )
    .await
    .unwrap();
    let first = within(bad.next()).await;
    assert!(
        matches!(first, Some(Err(_)) | None),
        "FX TRADES bars fail: {first:?}"
    );
    client.disconnect().await;
}

#[tokio::test]
async fn tick_by_tick_last_bid_ask_mid_point() {
    let sim = start_sim_world(|w| w.clock_speed = 5.0).await;
    let client = connect(&sim, 2).await;
    let spy = Contract::stock("SPY").build();

    // Last with 5 ticks of backfill, then live trades.
    let mut last = within(client.tick_by_tick(&spy, 5).last())
        .await
        .expect("tick-by-tick last")
        .filter_data();
    let mut trades = Vec::new();
    while trades.len() < 12 {
        trades.push(within(last.next()).await.unwrap().unwrap());
    }
    for w in trades.windows(2) {
        assert!(w[0].time <= w[1].time, "chronological");
    }
    for t in &trades {
        assert!(
            t.price > 0.0 && t.size >= 100.0,
            "Last shows round lots: {t:?}"
        );
        assert!(!t.exchange.is_empty());
        assert!(!t.trade_attribute.unreported);
    }

    let mut ba = within(client.tick_by_tick(&spy, 0).bid_ask(IgnoreSize::No))
        .await
        .expect("tick-by-tick bid/ask")
        .filter_data();
    for _ in 0..5 {
        let q = within(ba.next()).await.unwrap().unwrap();
        assert!(q.bid_price < q.ask_price, "{q:?}");
        assert!(q.bid_size > 0.0 && q.ask_size > 0.0);
        assert!((q.ask_price - q.bid_price) / q.bid_price < 0.01);
    }
    let mut mp = within(client.tick_by_tick(&spy, 3).mid_point())
        .await
        .expect("tick-by-tick midpoint")
        .filter_data();
    for _ in 0..5 {
        let m = within(mp.next()).await.unwrap().unwrap();
        assert!(m.mid_point > 0.0);
    }
    assert_eq!(sim.admin().subscription_count("tick_by_tick"), 3);

    // AllLast fills the limit (5 in all); the sixth subscription fails with 10190.
    let _a = within(client.tick_by_tick(&spy, 0).all_last())
        .await
        .unwrap();
    let _b = within(client.tick_by_tick(&spy, 0).all_last())
        .await
        .unwrap();
    let mut over = within(client.tick_by_tick(&spy, 0).all_last())
        .await
        .unwrap();
    let r = within(over.next()).await;
    assert!(
        format!("{r:?}").contains("10190"),
        "tick-by-tick limit: {r:?}"
    );

    drop(last);
    drop(ba);
    // Dropping a subscription cancels it at the simulator: 5 become 3.
    wait_until("two tick-by-tick subscriptions cancelled", || {
        sim.admin().subscription_count("tick_by_tick") == 3
    })
    .await;
    assert_eq!(sim.admin().subscription_count("tick_by_tick"), 3);
    client.disconnect().await;
}

#[tokio::test]
async fn market_depth_book_updates_and_limit() {
    let sim = start_sim_world(|w| w.tick_interval_ms = 50).await;
    let client = connect(&sim, 3).await;
    let aapl = Contract::stock("AAPL").build();

    let exchanges = within(client.market_depth_exchanges()).await.unwrap();
    assert!(exchanges.iter().any(|e| e.exchange_name == "ISLAND"));

    let mut depth = within(
        client
            .market_depth(&aapl, 5)
            .smart_depth(SmartDepth::Yes)
            .subscribe(),
    )
    .await
    .expect("market depth")
    .filter_data();
    let mut bids = vec![None; 5];
    let mut asks = vec![None; 5];
    for _ in 0..10 {
        match within(depth.next()).await.unwrap().unwrap() {
            MarketDepths::MarketDepthL2(d) => {
                assert_eq!(d.operation, 0, "initial rows are inserts");
                assert!(d.smart_depth);
                assert!(!d.market_maker.is_empty());
                let book = if d.side == 1 { &mut bids } else { &mut asks };
                book[d.position as usize] = Some((d.price, d.size));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let bids: Vec<(f64, f64)> = bids.into_iter().map(Option::unwrap).collect();
    let asks: Vec<(f64, f64)> = asks.into_iter().map(Option::unwrap).collect();
    assert!(bids[0].0 < asks[0].0, "book not crossed");
    assert!(bids.windows(2).all(|w| w[0].0 > w[1].0), "bids descend");
    assert!(asks.windows(2).all(|w| w[0].0 < w[1].0), "asks ascend");
    // Then updates in place.
    let upd = within(depth.next()).await.unwrap().unwrap();
    match upd {
        MarketDepths::MarketDepthL2(d) => assert_eq!(d.operation, 1),
        other => panic!("unexpected {other:?}"),
    }

    // Non-smart depth arrives as level-1 rows.
    let mut l1 = within(client.market_depth(&aapl, 3).subscribe())
        .await
        .unwrap()
        .filter_data();
    let r = within(l1.next()).await.unwrap().unwrap();
    assert!(matches!(r, MarketDepths::MarketDepth(_)), "{r:?}");
    assert_eq!(sim.admin().subscription_count("market_depth"), 2);

    // Third is fine, the fourth hits TWS's limit of 3 (error 309).
    let _third = within(client.market_depth(&aapl, 1).subscribe())
        .await
        .unwrap();
    let mut fourth = within(client.market_depth(&aapl, 1).subscribe())
        .await
        .unwrap();
    let r = within(fourth.next()).await;
    assert!(format!("{r:?}").contains("309"), "depth limit: {r:?}");
    client.disconnect().await;
}

#[tokio::test]
async fn historical_ticks_agree_with_bars() {
    let sim = start_sim_world(|_| {}).await;
    let client = connect(&sim, 4).await;
    let aapl = Contract::stock("AAPL").build();
    let now = sim_now(&sim);

    let mut sub = within(client.historical_ticks(&aapl, 200).ending(now).trade())
        .await
        .expect("historical trades");
    let mut trades = Vec::new();
    while let Some(t) = within(sub.next()).await {
        if let SubscriptionItem::Data(t) = t.expect("tick") {
            trades.push(t);
        }
    }
    assert!(trades.len() >= 200, "got {}", trades.len());
    assert!(trades.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert!(trades.last().unwrap().timestamp <= now);
    // Odd lots (special condition I) are part of the TRADES tape.
    assert!(trades.iter().any(|t| t.special_conditions.contains('I')));

    // Every trade lies within the 5-second TRADES bar (= real-time bar) of its instant.
    let bars = within(
        client
            .historical_data(&aapl, HistoricalBarSize::Sec5)
            .duration(1800.seconds())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap();
    let mut checked = 0;
    for t in &trades {
        let start = t.timestamp.unix_timestamp() / 5 * 5;
        if let Some(b) = bars
            .bars
            .iter()
            .find(|b| matches!(b.date, BarTimestamp::DateTime(d) if d.unix_timestamp() == start))
        {
            assert!(
                t.price >= b.low - 1e-9 && t.price <= b.high + 1e-9,
                "trade {} outside bar [{}, {}]",
                t.price,
                b.low,
                b.high
            );
            checked += 1;
        }
    }
    assert!(checked > 0);

    // BID_ASK from a start time, forwards.
    let start = now - time::Duration::minutes(10);
    let mut sub = within(
        client
            .historical_ticks(&aapl, 50)
            .starting(start)
            .bid_ask(IgnoreSize::Yes),
    )
    .await
    .unwrap();
    let mut quotes = Vec::new();
    while let Some(q) = within(sub.next()).await {
        if let SubscriptionItem::Data(q) = q.expect("tick") {
            quotes.push(q);
        }
    }
    assert!(quotes.len() >= 50);
    assert!(quotes[0].timestamp.unix_timestamp() >= start.unix_timestamp());
    for q in &quotes {
        assert!(q.price_bid < q.price_ask, "{q:?}");
    }
    for w in quotes.windows(2) {
        assert!(
            (w[0].price_bid, w[0].price_ask) != (w[1].price_bid, w[1].price_ask),
            "ignoreSize: every tick changes a price"
        );
    }

    // MIDPOINT.
    let mut sub = within(client.historical_ticks(&aapl, 20).ending(now).mid_point())
        .await
        .unwrap();
    let mut mids = 0;
    while let Some(m) = within(sub.next()).await {
        if let SubscriptionItem::Data(m) = m.expect("tick") {
            assert!(m.price > 0.0);
            mids += 1;
        }
    }
    assert!(mids >= 20);

    // No trades on FX: error 162, not a timeout.
    let eur = Contract::forex("EUR", "USD").build();
    let mut sub = within(client.historical_ticks(&eur, 10).ending(now).trade())
        .await
        .unwrap();
    let r = within(sub.next()).await;
    assert!(format!("{r:?}").contains("162"), "{r:?}");
    client.disconnect().await;
}

#[tokio::test]
async fn historical_ticks_are_paced_like_small_bars() {
    let sim = start_sim_world(|_| {}).await;
    let client = connect(&sim, 5).await;
    let spy = Contract::stock("SPY").build();
    let end = sim_now(&sim);
    let run = || async {
        let mut sub = within(client.historical_ticks(&spy, 10).ending(end).mid_point())
            .await
            .unwrap();
        let mut items = Vec::new();
        while let Some(i) = within(sub.next()).await {
            let failed = i.is_err();
            items.push(format!("{i:?}"));
            if failed {
                break;
            }
        }
        items
    };
    let first = run().await;
    assert!(first.len() >= 10, "{first:?}");
    // The identical request within 15 s: error 162 (pacing violation) at once.
    let second = run().await;
    assert!(
        second.iter().any(|s| s.contains("162")),
        "identical request is paced: {second:?}"
    );
    assert!(sim.admin().stats().pacing_violations >= 1);
    client.disconnect().await;
}
