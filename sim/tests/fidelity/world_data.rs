//! Market data, historical bars, reference data and account streams of the world.

use crate::world_support;

use tws_sim::api::{Contract, Request, Response};
use world_support::*;

#[allow(clippy::too_many_arguments)]
fn hist(
    c: &mut Client,
    w: &mut tws_sim::world::World,
    req_id: i32,
    contract: Contract,
    bar: &str,
    dur: &str,
    show: &str,
    keep: bool,
) -> Vec<Response> {
    c.req(
        w,
        Request::ReqHistoricalData {
            req_id,
            contract,
            end_date_time: String::new(),
            bar_size: bar.into(),
            duration: dur.into(),
            use_rth: true,
            what_to_show: show.into(),
            format_date: 2,
            keep_up_to_date: keep,
        },
    )
}

fn bars(rs: &[Response]) -> Vec<tws_sim::api::Bar> {
    rs.iter()
        .find_map(|r| match r {
            Response::HistoricalData { bars, .. } => Some(bars.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn historical_bars_agree_with_live_ticks() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    w.advance(T0 + 37_000);
    let (_, _, last) = snapshot(&mut c, &mut w, 1, stk("VTI"));
    for (bar, dur) in [
        ("1 secs", "60 S"),
        ("1 min", "1 D"),
        ("1 hour", "1 W"),
        ("1 day", "1 Y"),
        ("1W", "2 Y"),
        ("1M", "5 Y"),
    ] {
        let rs = hist(&mut c, &mut w, 2, stk("VTI"), bar, dur, "TRADES", false);
        let b = bars(&rs);
        assert!(!b.is_empty(), "{bar} {dur}: {rs:?}");
        assert_eq!(b.last().unwrap().close, last, "{bar} {dur}");
        assert!(matches!(
            rs.last(),
            Some(Response::HistoricalDataEnd { .. })
        ));
    }
    let b = bars(&hist(
        &mut c,
        &mut w,
        3,
        stk("VTI"),
        "1 day",
        "1 Y",
        "TRADES",
        false,
    ));
    assert!(b.len() >= 360, "{}", b.len());
    assert!(b.iter().all(|b| b.time % 86_400 == 0 && b.volume > 0.0));
    // Midpoint for FX; TRADES for FX is refused like TWS does.
    let eur = Contract {
        symbol: "EUR".into(),
        sec_type: "CASH".into(),
        exchange: "IDEALPRO".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    assert!(
        !bars(&hist(
            &mut c,
            &mut w,
            4,
            eur.clone(),
            "1 hour",
            "2 D",
            "MIDPOINT",
            false
        ))
        .is_empty()
    );
    assert_eq!(
        errors(&hist(
            &mut c, &mut w, 5, eur, "1 hour", "2 D", "TRADES", false
        ))[0]
            .1,
        162
    );
}

#[test]
fn historical_validation_errors() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let e = errors(&hist(
        &mut c,
        &mut w,
        1,
        stk("SPY"),
        "7 mins",
        "1 D",
        "TRADES",
        false,
    ));
    assert_eq!(e[0].1, 321);
    assert!(
        e[0].2
            .contains("Historical data bar size setting is invalid. Legal ones are: 1 secs")
    );
    let e = errors(&hist(
        &mut c,
        &mut w,
        2,
        stk("SPY"),
        "1 min",
        "1 X",
        "TRADES",
        false,
    ));
    assert_eq!(e[0].1, 321);
    let e = errors(&hist(
        &mut c,
        &mut w,
        3,
        stk("SPY"),
        "1 secs",
        "1 D",
        "TRADES",
        false,
    ));
    assert_eq!(e[0].1, 162);
    assert!(
        e[0].2
            .starts_with("Historical Market Data Service error message:")
    );
    let e = errors(&hist(
        &mut c,
        &mut w,
        4,
        stk("ZZZZ"),
        "1 min",
        "1 D",
        "TRADES",
        false,
    ));
    assert_eq!(e[0].1, 200);
}

#[test]
fn keep_up_to_date_streams_bar_updates() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = hist(
        &mut c,
        &mut w,
        1,
        stk("SPY"),
        "5 secs",
        "300 S",
        "TRADES",
        true,
    );
    let last = *bars(&rs).last().unwrap();
    for i in 1..=12 {
        w.advance(T0 + i * 1000);
    }
    let ups: Vec<_> = c
        .drain()
        .into_iter()
        .filter_map(|r| match r {
            Response::HistoricalDataUpdate { bar, .. } => Some(bar),
            _ => None,
        })
        .collect();
    assert!(ups.len() >= 10, "{}", ups.len());
    assert!(ups.iter().all(|b| b.time >= last.time));
    assert!(ups.last().unwrap().time > last.time);
}

#[test]
fn streaming_ticks_and_subscription_errors() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 1,
            contract: stk("AAPL"),
            generic_tick_list: String::new(),
            snapshot: false,
            regulatory_snapshot: false,
        },
    );
    assert!(matches!(rs[0], Response::TickReqParams { req_id: 1, .. }));
    assert!(matches!(
        rs[1],
        Response::MarketDataType {
            req_id: 1,
            market_data_type: 1
        }
    ));
    let types: Vec<i32> = rs
        .iter()
        .filter_map(|r| match r {
            Response::TickPrice { tick_type, .. } => Some(*tick_type),
            _ => None,
        })
        .collect();
    for t in [1, 2, 4, 6, 7, 9, 14] {
        assert!(types.contains(&t), "tick {t} in {types:?}");
    }
    w.advance(T0 + 1_000);
    let n = c
        .drain()
        .iter()
        .filter(|r| matches!(r, Response::TickPrice { tick_type: 4, .. }))
        .count();
    assert_eq!(n, 4, "250 ms interval => 4 batches per second");
    let e = errors(&c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 1,
            contract: stk("AAPL"),
            generic_tick_list: String::new(),
            snapshot: false,
            regulatory_snapshot: false,
        },
    ));
    assert_eq!(e[0].1, 322);
    assert!(errors(&c.req(&mut w, Request::CancelMktData { req_id: 1 })).is_empty());
    let e = errors(&c.req(&mut w, Request::CancelMktData { req_id: 1 }));
    assert_eq!(
        (e[0].1, e[0].2.as_str()),
        (300, "Can't find EId with tickerId:1")
    );
    w.advance(T0 + 2_000);
    assert!(c.drain().is_empty());
}

#[test]
fn option_contracts_chains_and_greeks() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqSecDefOptParams {
            req_id: 1,
            underlying_symbol: "AAPL".into(),
            fut_fop_exchange: String::new(),
            underlying_sec_type: "STK".into(),
            underlying_con_id: 265598,
        },
    );
    let Response::SecDefOptParams {
        expirations,
        strikes,
        multiplier,
        ..
    } = &rs[0]
    else {
        panic!("{rs:?}")
    };
    assert_eq!(multiplier, "100");
    assert!(expirations.len() >= 6 && strikes.len() >= 20);
    let opt = Contract {
        symbol: "AAPL".into(),
        sec_type: "OPT".into(),
        last_trade_date_or_contract_month: expirations[2].clone(),
        strike: strikes[strikes.len() / 2],
        right: "P".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    let rs = c.req(
        &mut w,
        Request::ReqContractDetails {
            req_id: 2,
            contract: opt.clone(),
        },
    );
    let Response::ContractData { details, .. } = &rs[0] else {
        panic!()
    };
    assert_eq!(details.contract.multiplier, "100");
    assert_eq!(details.under_con_id, 265598);
    assert!(matches!(rs[1], Response::ContractDataEnd { req_id: 2 }));
    let rs = c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 3,
            contract: opt,
            generic_tick_list: String::new(),
            snapshot: true,
            regulatory_snapshot: false,
        },
    );
    let comp = rs.iter().find_map(|r| match r {
        Response::TickOptionComputation {
            tick_type: 13,
            delta,
            implied_vol,
            und_price,
            gamma,
            ..
        } => Some((
            delta.unwrap(),
            implied_vol.unwrap(),
            und_price.unwrap(),
            gamma.unwrap(),
        )),
        _ => None,
    });
    let (delta, iv, und, gamma) = comp.expect("model option computation");
    assert!(delta < 0.0 && delta > -1.0, "{delta}");
    assert!(iv > 0.05 && iv < 1.0);
    assert!(und > 100.0 && gamma > 0.0);
    // A whole expiry without strike/right resolves to many contracts.
    let rs = c.req(
        &mut w,
        Request::ReqContractDetails {
            req_id: 4,
            contract: Contract {
                symbol: "SPY".into(),
                sec_type: "OPT".into(),
                last_trade_date_or_contract_month: expirations[0].clone(),
                ..Default::default()
            },
        },
    );
    assert!(rs.len() > 40);
}

#[test]
fn reference_data() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqContractDetails {
            req_id: 1,
            contract: stk("TLT"),
        },
    );
    let Response::ContractData { details, .. } = &rs[0] else {
        panic!()
    };
    assert_eq!(details.contract.con_id, 15547841);
    assert_eq!(details.stock_type, "ETF");
    assert_eq!(details.time_zone_id, "US/Eastern");
    assert!(!details.market_rule_ids.is_empty());
    let e = errors(&c.req(
        &mut w,
        Request::ReqContractDetails {
            req_id: 2,
            contract: stk("NOPE"),
        },
    ));
    assert_eq!((e[0].0, e[0].1), (2, 200));
    let rs = c.req(
        &mut w,
        Request::ReqMatchingSymbols {
            req_id: 3,
            pattern: "XL".into(),
        },
    );
    let Response::SymbolSamples { descriptions, .. } = &rs[0] else {
        panic!()
    };
    assert!(descriptions.len() >= 8 && descriptions.len() <= 16);
    let rs = c.req(&mut w, Request::ReqMarketRule { market_rule_id: 26 });
    let Response::MarketRule { increments, .. } = &rs[0] else {
        panic!()
    };
    assert_eq!(increments.len(), 2);
    let rs = c.req(&mut w, Request::ReqCurrentTime);
    assert!(matches!(rs[0], Response::CurrentTime { time } if time == T0 / 1000));
    let rs = c.req(
        &mut w,
        Request::ReqHeadTimestamp {
            req_id: 5,
            contract: stk("SPY"),
            what_to_show: "TRADES".into(),
            use_rth: true,
            format_date: 2,
        },
    );
    let Response::HeadTimestamp { head_timestamp, .. } = &rs[0] else {
        panic!()
    };
    assert!(head_timestamp.parse::<i64>().unwrap() < T0 / 1000 - 5 * 365 * 86_400);
    let rs = c.req(&mut w, Request::ReqScannerParameters);
    assert!(matches!(&rs[0], Response::ScannerParameters { xml } if xml.contains("TOP_PERC_GAIN")));
    let rs = c.req(
        &mut w,
        Request::ReqScannerSubscription {
            req_id: 6,
            subscription: tws_sim::api::ScannerSubscription {
                number_of_rows: 5,
                instrument: "STK".into(),
                location_code: "STK.US.MAJOR".into(),
                scan_code: "MOST_ACTIVE".into(),
                ..Default::default()
            },
        },
    );
    let Response::ScannerData { rows, .. } = &rs[0] else {
        panic!()
    };
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].rank, 0);
}

#[test]
fn account_summary_updates_positions_pnl() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqAccountSummary {
            req_id: 1,
            group: "All".into(),
            tags: "NetLiquidation,TotalCashValue,GrossPositionValue,BuyingPower,AvailableFunds,Cushion,$LEDGER".into(),
        },
    );
    let get = |tag: &str| -> f64 {
        rs.iter()
            .find_map(|r| match r {
                Response::AccountSummary {
                    tag: t,
                    value,
                    currency,
                    ..
                } if t == tag && currency != "BASE" => Some(value.parse().unwrap()),
                _ => None,
            })
            .unwrap()
    };
    let nlv = get("NetLiquidation");
    assert!((900_000.0..1_200_000.0).contains(&nlv), "{nlv}");
    assert!((nlv - get("TotalCashValue") - get("GrossPositionValue")).abs() < 0.05);
    assert!(rs.iter().any(|r| matches!(r, Response::AccountSummary { tag, currency, .. } if tag == "CashBalance" && currency == "BASE")));
    assert!(matches!(
        rs.last(),
        Some(Response::AccountSummaryEnd { req_id: 1 })
    ));
    // Positions.
    let rs = c.req(&mut w, Request::ReqPositions);
    let n = rs
        .iter()
        .filter(|r| matches!(r, Response::Position { .. }))
        .count();
    assert_eq!(n, 5);
    assert!(matches!(rs.last(), Some(Response::PositionEnd)));
    // Account updates.
    let rs = c.req(
        &mut w,
        Request::ReqAccountUpdates {
            subscribe: true,
            account: "DU1234567".into(),
        },
    );
    assert!(
        rs.iter()
            .any(|r| matches!(r, Response::AccountValue { key, .. } if key == "NetLiquidation"))
    );
    assert_eq!(
        rs.iter()
            .filter(|r| matches!(r, Response::PortfolioValue { .. }))
            .count(),
        5
    );
    assert!(matches!(
        rs.last(),
        Some(Response::AccountDownloadEnd { .. })
    ));
    // PnL moves with prices.
    let rs = c.req(
        &mut w,
        Request::ReqPnL {
            req_id: 2,
            account: "DU1234567".into(),
            model_code: String::new(),
        },
    );
    let Response::PnL {
        unrealized_pnl: Some(u0),
        ..
    } = rs[0]
    else {
        panic!("{rs:?}")
    };
    let rs = c.req(
        &mut w,
        Request::ReqPnLSingle {
            req_id: 3,
            account: "DU1234567".into(),
            model_code: String::new(),
            con_id: 265598,
        },
    );
    let Response::PnLSingle {
        position, value, ..
    } = rs[0]
    else {
        panic!()
    };
    assert_eq!(position, 450.0);
    assert!(value > 0.0);
    for i in 1..=3600 {
        w.advance(T0 + i * 1000);
    }
    let rs = c.drain();
    let last_pnl = rs.iter().rev().find_map(|r| match r {
        Response::PnL {
            unrealized_pnl,
            daily_pnl,
            ..
        } => Some((unrealized_pnl.unwrap(), *daily_pnl)),
        _ => None,
    });
    let (u1, daily) = last_pnl.unwrap();
    assert_ne!(u0, u1);
    let a = &w.accounts()[0];
    assert!((a.unrealized_pnl - u1).abs() < 1.0);
    assert!((a.daily_pnl - daily).abs() < 1.0);
    // Buying moves positions subscribers.
    let rs = place(
        &mut c,
        &mut w,
        1,
        stk("BND"),
        order("BUY", 100.0, "MKT", None, None),
    );
    assert!(
        rs.iter()
            .any(|r| matches!(r, Response::Position { position, .. } if *position == 1300.0))
    );
    assert!(
        rs.iter()
            .any(|r| matches!(r, Response::PortfolioValue { position, .. } if *position == 1300.0))
    );
}

#[test]
fn news_bulletins_and_broadcast() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    w.inject_bulletin(1, "early", "");
    let rs = c.req(&mut w, Request::ReqNewsBulletins { all_messages: true });
    assert_eq!(rs.len(), 1);
    w.inject_bulletin(2, "ISLAND down", "ISLAND");
    let rs = c.drain();
    assert!(matches!(&rs[0], Response::NewsBulletin { msg_type: 2, .. }));
    w.broadcast(Response::Error {
        id: -1,
        time: 0,
        code: 1100,
        message: "Connectivity between IB and Trader Workstation has been lost.".into(),
        advanced_order_reject_json: String::new(),
    });
    assert_eq!(errors(&c.drain())[0].1, 1100);
    assert!(!w.subscriptions().is_empty());
}

#[test]
fn tick_throughput() {
    let mut cfg = config();
    cfg.tick_interval_ms = 1;
    cfg.max_catch_up_ticks = 1000;
    let mut w = tws_sim::world::World::new(cfg);
    let mut c = Client::attach(&mut w, 1);
    let syms = [
        "SPY", "AAPL", "MSFT", "NVDA", "QQQ", "IWM", "TLT", "GLD", "XLK", "XLF",
    ];
    for (i, s) in syms.iter().enumerate() {
        for k in 0..5 {
            c.req(
                &mut w,
                Request::ReqMktData {
                    req_id: (i * 10 + k) as i32,
                    contract: stk(s),
                    generic_tick_list: String::new(),
                    snapshot: false,
                    regulatory_snapshot: false,
                },
            );
        }
    }
    let start = std::time::Instant::now();
    let mut n = 0usize;
    for step in 1..=100 {
        w.advance(T0 + step * 10);
        n += c.drain().len();
    }
    let el = start.elapsed().as_secs_f64();
    // 50 subscriptions x 1000 batches x >= 3 messages in one simulated second.
    assert!(n >= 150_000, "{n}");
    eprintln!("{n} responses in {el:.3}s = {:.0}/s", n as f64 / el);
}

#[test]
fn generic_ticks() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 1,
            contract: stk("AAPL"),
            generic_tick_list: "165,236,233,106,104".into(),
            snapshot: false,
            regulatory_snapshot: false,
        },
    );
    let mut types: Vec<i32> = rs
        .iter()
        .filter_map(|r| match r {
            Response::TickPrice { tick_type, .. }
            | Response::TickSize { tick_type, .. }
            | Response::TickGeneric { tick_type, .. }
            | Response::TickString { tick_type, .. } => Some(*tick_type),
            _ => None,
        })
        .collect();
    w.advance(T0 + 500);
    types.extend(c.drain().iter().filter_map(|r| match r {
        Response::TickString { tick_type, .. } => Some(*tick_type),
        _ => None,
    }));
    for t in [15, 16, 19, 20, 21, 23, 24, 46, 48, 49, 89] {
        assert!(types.contains(&t), "tick {t} missing from {types:?}");
    }
    let (lo52, hi52) = rs.iter().fold((0.0, 0.0), |acc, r| match r {
        Response::TickPrice {
            tick_type: 19,
            price,
            ..
        } => (*price, acc.1),
        Response::TickPrice {
            tick_type: 20,
            price,
            ..
        } => (acc.0, *price),
        _ => acc,
    });
    assert!(lo52 > 0.0 && lo52 <= hi52);
    let e = errors(&c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 2,
            contract: stk("AAPL"),
            generic_tick_list: "236".into(),
            snapshot: true,
            regulatory_snapshot: false,
        },
    ));
    assert_eq!(e[0].1, 321);
}

#[test]
fn volatility_series() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let hv = bars(&hist(
        &mut c,
        &mut w,
        1,
        stk("SPY"),
        "1 day",
        "1 Y",
        "HISTORICAL_VOLATILITY",
        false,
    ));
    assert!(hv.len() > 300);
    let last = hv.last().unwrap().close;
    assert!(last > 0.05 && last < 0.5, "{last}");
    let iv = bars(&hist(
        &mut c,
        &mut w,
        2,
        stk("SPY"),
        "1 day",
        "3 M",
        "OPTION_IMPLIED_VOLATILITY",
        false,
    ));
    assert!(iv.iter().all(|b| b.close > 0.1 && b.close < 0.4));
}
