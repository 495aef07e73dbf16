//! Order lifecycle against the world (no sockets: the world is protocol-neutral).

use crate::world_support;

use tws_sim::api::{ExecutionFilter, Request, Response};
use world_support::*;

#[test]
fn attach_sends_accounts_ids_and_farm_notices() {
    let mut w = world();
    let (tx, mut rx) = tokio::sync::mpsc::channel(100);
    w.attach(7, tws_sim::world::Outbox::new(tx.clone()))
        .unwrap();
    let mut v = Vec::new();
    while let Ok(r) = rx.try_recv() {
        v.push(r);
    }
    assert!(
        matches!(&v[0], Response::ManagedAccounts { accounts } if accounts == &vec!["DU1234567".to_string()])
    );
    assert!(matches!(v[1], Response::NextValidId { order_id } if order_id >= 1));
    let codes: Vec<i32> = errors(&v).iter().map(|e| e.1).collect();
    assert_eq!(codes, vec![2104, 2106, 2158]);
    assert!(w.attach(7, tws_sim::world::Outbox::new(tx)).is_err());
}

#[test]
fn market_order_fills_and_updates_account() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let before = w.accounts()[0].clone();
    let (_, ask, _) = snapshot(&mut c, &mut w, 9, stk("AAPL"));
    let rs = place(
        &mut c,
        &mut w,
        1,
        stk("AAPL"),
        order("BUY", 100.0, "MKT", None, None),
    );
    assert_eq!(statuses(&rs, 1), vec!["Submitted", "Filled"]);
    let exec = rs.iter().find_map(|r| match r {
        Response::ExecDetails {
            req_id: -1,
            execution,
            ..
        } => Some(execution.clone()),
        _ => None,
    });
    let exec = exec.expect("execDetails");
    assert_eq!(exec.side, "BOT");
    assert_eq!(exec.shares, 100.0);
    assert_eq!(exec.price, ask);
    assert_eq!(exec.client_id, 1);
    let comm = rs.iter().find_map(|r| match r {
        Response::CommissionReport { report } => Some(report.clone()),
        _ => None,
    });
    let comm = comm.expect("commission report after execution");
    assert_eq!(comm.exec_id, exec.exec_id);
    assert_eq!(comm.commission, 1.0);
    // ibapi routing quirk: client id on openOrder/orderStatus is the placing client's.
    for r in &rs {
        match r {
            Response::OpenOrder { order, .. } => assert_eq!(order.client_id, 1),
            Response::OrderStatus { client_id, .. } => assert_eq!(*client_id, 1),
            _ => {}
        }
    }
    let after = w.accounts()[0].clone();
    assert!((before.cash - after.cash - (100.0 * ask + 1.0)).abs() < 1e-6);
    let pos = w
        .positions()
        .into_iter()
        .find(|p| p.symbol == "AAPL")
        .unwrap();
    assert_eq!(pos.position, 550.0);
    // NetLiq = cash + market value of positions.
    let mv: f64 = w.positions().iter().map(|p| p.market_value).sum();
    let a = &w.accounts()[0];
    assert!((a.net_liquidation - (a.cash + mv)).abs() < 1e-6);
    // Executions are queryable with a filter.
    let rs = c.req(
        &mut w,
        Request::ReqExecutions {
            req_id: 5,
            filter: ExecutionFilter {
                symbol: "AAPL".into(),
                side: "BUY".into(),
                ..Default::default()
            },
        },
    );
    assert_eq!(rs.len(), 3);
    assert!(matches!(rs[2], Response::ExecDetailsEnd { req_id: 5 }));
    let rs = c.req(
        &mut w,
        Request::ReqExecutions {
            req_id: 6,
            filter: ExecutionFilter {
                symbol: "MSFT".into(),
                ..Default::default()
            },
        },
    );
    assert_eq!(rs.len(), 1);
}

#[test]
fn rejections_use_tws_codes() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let e = errors(&place(
        &mut c,
        &mut w,
        1,
        stk("NOPE"),
        order("BUY", 1.0, "MKT", None, None),
    ));
    assert_eq!(e[0].1, 200);
    let e = errors(&place(
        &mut c,
        &mut w,
        2,
        stk("AAPL"),
        order("BUY", 1.0, "LMT", Some(100.005), None),
    ));
    assert_eq!(e[0].1, 110);
    assert_eq!(
        e[0].2,
        "The price does not conform to the minimum price variation for this contract."
    );
    let e = errors(&place(
        &mut c,
        &mut w,
        3,
        stk("AAPL"),
        order("BUY", 0.0, "MKT", None, None),
    ));
    assert_eq!(e[0].1, 201);
    let e = errors(&place(
        &mut c,
        &mut w,
        4,
        stk("AAPL"),
        order("BUY", 1.0, "VWAP", None, None),
    ));
    assert_eq!(e[0].1, 387);
    let e = errors(&place(
        &mut c,
        &mut w,
        5,
        stk("AAPL"),
        order("BUY", 1_000_000.0, "MKT", None, None),
    ));
    assert_eq!(e[0].1, 201);
    assert!(e[0].2.starts_with("Order rejected - reason:"));
    place(
        &mut c,
        &mut w,
        6,
        stk("AAPL"),
        order("BUY", 1.0, "MKT", None, None),
    );
    let e = errors(&place(
        &mut c,
        &mut w,
        6,
        stk("AAPL"),
        order("BUY", 1.0, "MKT", None, None),
    ));
    assert_eq!(e[0].1, 104);
    let e = errors(&c.req(
        &mut w,
        Request::CancelOrder {
            order_id: 99,
            manual_order_cancel_time: String::new(),
        },
    ));
    assert_eq!(
        (e[0].1, e[0].2.as_str()),
        (10147, "OrderId 99 that needs to be cancelled is not found.")
    );
    let e = errors(&c.req(
        &mut w,
        Request::CancelOrder {
            order_id: 6,
            manual_order_cancel_time: String::new(),
        },
    ));
    assert_eq!(e[0].1, 161);
}

#[test]
fn limit_rests_modify_then_cancel() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let (bid, _, _) = snapshot(&mut c, &mut w, 9, stk("MSFT"));
    let far = ((bid * 0.9) * 100.0).round() / 100.0;
    let rs = place(
        &mut c,
        &mut w,
        10,
        stk("MSFT"),
        order("BUY", 10.0, "LMT", Some(far), None),
    );
    assert_eq!(statuses(&rs, 10), vec!["Submitted"]);
    w.advance(T0 + 1_000);
    assert!(statuses(&c.drain(), 10).is_empty());
    // Open orders.
    let rs = c.req(&mut w, Request::ReqOpenOrders);
    assert!(matches!(rs[0], Response::OpenOrder { order_id: 10, .. }));
    assert!(matches!(rs.last(), Some(Response::OpenOrderEnd)));
    // Modify the quantity: still working.
    let rs = place(
        &mut c,
        &mut w,
        10,
        stk("MSFT"),
        order("BUY", 20.0, "LMT", Some(far), None),
    );
    assert_eq!(statuses(&rs, 10), vec!["Submitted"]);
    assert!(
        w.orders()
            .iter()
            .any(|o| o.order_id == 10 && o.quantity == 20.0)
    );
    let rs = c.req(
        &mut w,
        Request::CancelOrder {
            order_id: 10,
            manual_order_cancel_time: String::new(),
        },
    );
    assert_eq!(statuses(&rs, 10), vec!["Cancelled"]);
    let e = errors(&rs);
    assert_eq!(
        (e[0].0, e[0].1, e[0].2.as_str()),
        (10, 202, "Order Canceled - reason:")
    );
    // Completed orders list it.
    let rs = c.req(&mut w, Request::ReqCompletedOrders { api_only: true });
    assert!(rs.iter().any(
        |r| matches!(r, Response::CompletedOrder { state, .. } if state.status == "Cancelled")
    ));
    // Modify a marketable price: fills.
    let rs = place(
        &mut c,
        &mut w,
        11,
        stk("MSFT"),
        order("BUY", 5.0, "LMT", Some(far), None),
    );
    assert_eq!(statuses(&rs, 11), vec!["Submitted"]);
    let high = ((bid * 1.05) * 100.0).round() / 100.0;
    let rs = place(
        &mut c,
        &mut w,
        11,
        stk("MSFT"),
        order("BUY", 5.0, "LMT", Some(high), None),
    );
    assert_eq!(statuses(&rs, 11), vec!["Submitted", "Filled"]);
}

#[test]
fn bracket_children_activate_on_parent_fill_and_oca_cancel() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 3);
    let (bid, ask, _) = snapshot(&mut c, &mut w, 9, stk("SPY"));
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let mut parent = order("BUY", 10.0, "LMT", Some(r2(ask * 1.01)), None);
    parent.transmit = false;
    let rs = place(&mut c, &mut w, 20, stk("SPY"), parent);
    assert_eq!(statuses(&rs, 20), vec!["PreSubmitted"]);
    let mut tp = order("SELL", 10.0, "LMT", Some(r2(bid * 1.2)), None);
    tp.parent_id = 20;
    tp.transmit = false;
    place(&mut c, &mut w, 21, stk("SPY"), tp.clone());
    let mut sl = order("SELL", 10.0, "STP", None, Some(r2(bid * 0.8)));
    sl.parent_id = 20;
    sl.transmit = true;
    let rs = place(&mut c, &mut w, 22, stk("SPY"), sl);
    assert!(statuses(&rs, 20).contains(&"Filled".to_string()));
    assert_eq!(statuses(&rs, 21).last().unwrap(), "Submitted");
    // IB-simulated stops show PreSubmitted until triggered.
    assert_eq!(statuses(&rs, 22).last().unwrap(), "PreSubmitted");
    // Make the take-profit marketable: it fills, the stop is cancelled.
    tp.lmt_price = Some(r2(bid * 0.95));
    tp.transmit = true;
    let rs = place(&mut c, &mut w, 21, stk("SPY"), tp);
    assert_eq!(statuses(&rs, 21).last().unwrap(), "Filled");
    assert_eq!(statuses(&rs, 22), vec!["Cancelled"]);
    let spy = w
        .positions()
        .into_iter()
        .find(|p| p.symbol == "SPY")
        .unwrap();
    assert_eq!(spy.position, 300.0);
}

#[test]
fn oca_group_cancels_the_rest() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let (bid, ask, _) = snapshot(&mut c, &mut w, 9, stk("QQQ"));
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let mut a = order("BUY", 5.0, "LMT", Some(r2(bid * 0.9)), None);
    a.oca_group = "G1".into();
    a.oca_type = 1;
    let mut b = order("BUY", 5.0, "LMT", Some(r2(ask * 1.01)), None);
    b.oca_group = "G1".into();
    b.oca_type = 1;
    place(&mut c, &mut w, 30, stk("QQQ"), a);
    let rs = place(&mut c, &mut w, 31, stk("QQQ"), b);
    assert_eq!(statuses(&rs, 31), vec!["Submitted", "Filled"]);
    assert_eq!(statuses(&rs, 30), vec!["Cancelled"]);
}

#[test]
fn what_if_reports_margin_and_places_nothing() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let mut o = order("BUY", 100.0, "MKT", None, None);
    o.what_if = true;
    let rs = place(&mut c, &mut w, 40, stk("NVDA"), o);
    assert_eq!(rs.len(), 1);
    let Response::OpenOrder { state, order, .. } = &rs[0] else {
        panic!("{rs:?}")
    };
    assert!(order.what_if);
    let before = state.init_margin_before.unwrap();
    let change = state.init_margin_change.unwrap();
    assert!(change > 0.0);
    assert!((state.init_margin_after.unwrap() - (before + change)).abs() < 0.02);
    assert_eq!(state.commission, Some(1.0));
    assert!(w.orders().is_empty());
}

#[test]
fn stop_and_trailing_stop_trigger_as_prices_move() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let (bid, _, last) = snapshot(&mut c, &mut w, 9, stk("TSLA"));
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    // A sell trailing stop 0.3% below and a buy stop 0.3% above: over a simulated day one fires.
    let mut t = order("SELL", 10.0, "TRAIL", None, Some(r2(last * 0.003)));
    t.tif = "GTC".into();
    place(&mut c, &mut w, 50, stk("TSLA"), t);
    let mut s = order("BUY", 10.0, "STP", None, Some(r2(bid * 1.003)));
    s.tif = "GTC".into();
    place(&mut c, &mut w, 51, stk("TSLA"), s);
    let mut filled = Vec::new();
    for i in 1..=6 * 3600 {
        w.advance(T0 + i * 1000);
        for r in c.drain() {
            if let Response::OrderStatus {
                order_id, status, ..
            } = r
                && status == "Filled"
            {
                filled.push(order_id);
            }
        }
        if filled.len() == 2 {
            break;
        }
    }
    assert_eq!(filled.len(), 2, "filled {filled:?}");
    let trail = w.orders().into_iter().find(|o| o.order_id == 50).unwrap();
    assert_eq!(trail.status, "Filled");
}

#[test]
fn moc_fills_at_close_and_day_orders_expire() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let (bid, _, _) = snapshot(&mut c, &mut w, 9, stk("JPM"));
    place(
        &mut c,
        &mut w,
        60,
        stk("JPM"),
        order("BUY", 10.0, "MOC", None, None),
    );
    let far = ((bid * 0.5) * 100.0).round() / 100.0;
    place(
        &mut c,
        &mut w,
        61,
        stk("JPM"),
        order("BUY", 10.0, "LMT", Some(far), None),
    );
    let mut gtc = order("BUY", 10.0, "LMT", Some(far), None);
    gtc.tif = "GTC".into();
    place(&mut c, &mut w, 62, stk("JPM"), gtc);
    c.drain();
    // Close is 21:00 UTC; start is 15:00 UTC.
    w.advance(T0 + 6 * 3_600_000 - 1_000);
    assert!(statuses(&c.drain(), 60).is_empty());
    w.advance(T0 + 6 * 3_600_000 + 1_000);
    let rs = c.drain();
    assert_eq!(statuses(&rs, 60).last().unwrap(), "Filled");
    assert_eq!(statuses(&rs, 61), vec!["Cancelled"]);
    assert!(statuses(&rs, 62).is_empty());
    let o = w.orders().into_iter().find(|o| o.order_id == 62).unwrap();
    assert_eq!(o.status, "Submitted");
}

#[test]
fn partial_fills_for_large_orders() {
    let mut cfg = config();
    cfg.partial_fill_size = 100.0;
    let mut w = tws_sim::world::World::new(cfg);
    let mut c = Client::attach(&mut w, 1);
    let rs = place(
        &mut c,
        &mut w,
        70,
        stk("KO"),
        order("BUY", 250.0, "MKT", None, None),
    );
    assert_eq!(statuses(&rs, 70), vec!["Submitted", "Submitted"]);
    w.advance(T0 + 100);
    w.advance(T0 + 200);
    let rs = c.drain();
    assert_eq!(statuses(&rs, 70), vec!["Submitted", "Filled"]);
    let execs = rs
        .iter()
        .filter(|r| matches!(r, Response::ExecDetails { .. }))
        .count();
    assert_eq!(execs, 2);
}

#[test]
fn deterministic_for_a_seed() {
    let run = || {
        let mut w = world();
        let mut c = Client::attach(&mut w, 1);
        let mut out = Vec::new();
        out.extend(place(
            &mut c,
            &mut w,
            1,
            stk("AAPL"),
            order("BUY", 10.0, "MKT", None, None),
        ));
        for i in 1..50 {
            w.advance(T0 + i * 997);
        }
        out.extend(c.req(
            &mut w,
            Request::ReqHistoricalData {
                req_id: 2,
                contract: stk("SPY"),
                end_date_time: String::new(),
                bar_size: "5 mins".into(),
                duration: "2 D".into(),
                use_rth: true,
                what_to_show: "TRADES".into(),
                format_date: 2,
                keep_up_to_date: false,
            },
        ));
        format!("{out:?}")
    };
    assert_eq!(run(), run());
}

#[test]
fn us_equities_hours_queue_orders_until_the_open() {
    let mut cfg = config();
    cfg.market_hours = tws_sim::world::MarketHours::UsEquities;
    cfg.start_time = Some("2026-01-10T15:00:00Z".into()); // Saturday
    let sat = 1_768_057_200_000_i64;
    let mut w = tws_sim::world::World::new(cfg);
    let mut c = Client::attach(&mut w, 1);
    let rs = place(
        &mut c,
        &mut w,
        1,
        stk("AAPL"),
        order("BUY", 10.0, "MKT", None, None),
    );
    assert_eq!(statuses(&rs, 1), vec!["Submitted"]);
    c.req(
        &mut w,
        Request::ReqMktData {
            req_id: 5,
            contract: stk("AAPL"),
            generic_tick_list: String::new(),
            snapshot: false,
            regulatory_snapshot: false,
        },
    );
    w.advance(sat + 60_000);
    assert!(c.drain().is_empty(), "no ticks and no fills on a Saturday");
    // Monday 2026-01-12 09:31 US/Eastern = 14:31 UTC.
    let monday_open = sat + 2 * 86_400_000 - 29 * 60_000;
    w.advance(monday_open);
    let rs = c.drain();
    assert_eq!(statuses(&rs, 1), vec!["Filled"]);
    assert!(
        rs.iter()
            .any(|r| matches!(r, Response::TickPrice { req_id: 5, .. }))
    );
}

#[test]
fn admin_shock_triggers_stops_and_history_agrees() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    w.advance(T0 + 90_000);
    let (bid, _, last0) = snapshot(&mut c, &mut w, 9, stk("XOM"));
    let stop = ((bid * 0.95) * 100.0).round() / 100.0;
    let mut s = order("SELL", 100.0, "STP", None, Some(stop));
    s.tif = "GTC".into();
    place(&mut c, &mut w, 80, stk("XOM"), s);
    let q = w.shock("XOM", -0.10).expect("known symbol");
    assert!(q.last < last0 * 0.92, "{} vs {}", q.last, last0);
    w.advance(T0 + 91_000);
    let rs = c.drain();
    assert_eq!(statuses(&rs, 80).last().unwrap(), "Filled");
    let (_, _, last1) = snapshot(&mut c, &mut w, 10, stk("XOM"));
    let rs = c.req(
        &mut w,
        Request::ReqHistoricalData {
            req_id: 11,
            contract: stk("XOM"),
            end_date_time: String::new(),
            bar_size: "1 min".into(),
            duration: "1800 S".into(),
            use_rth: true,
            what_to_show: "TRADES".into(),
            format_date: 2,
            keep_up_to_date: false,
        },
    );
    let bars = rs
        .iter()
        .find_map(|r| match r {
            Response::HistoricalData { bars, .. } => Some(bars.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(bars.last().unwrap().close, last1);
    // Earlier bars are untouched (pre-shock level).
    assert!(bars[0].close > last1 * 1.05);
}

#[test]
fn hostile_requests_never_panic() {
    use tws_sim::api::{Contract, Order, ScannerSubscription};
    let mut w = world();
    let mut c = Client::attach(&mut w, 0);
    let weird_contracts = [
        Contract::default(),
        Contract {
            con_id: -5,
            ..Default::default()
        },
        Contract {
            symbol: "É€漢".into(),
            sec_type: "OPT".into(),
            strike: f64::NAN,
            last_trade_date_or_contract_month: "2x".into(),
            ..Default::default()
        },
        Contract {
            local_symbol: ".".into(),
            ..Default::default()
        },
        stk("SPY"),
    ];
    let nums = [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e300, 0.015];
    let mut id = 1;
    for ct in &weird_contracts {
        for &x in &nums {
            id += 1;
            let o = Order {
                action: if id % 2 == 0 { "BUY" } else { "xx" }.into(),
                total_quantity: x,
                order_type: ["MKT", "LMT", "STP", "TRAIL", "MOC", "LOC", "??"][id as usize % 7]
                    .into(),
                lmt_price: Some(x),
                aux_price: Some(x),
                trailing_percent: Some(x),
                tif: ["", "GTC", "IOC", "??"][id as usize % 4].into(),
                parent_id: id % 3,
                oca_group: "G".into(),
                transmit: id % 5 != 0,
                what_if: id % 7 == 0,
                ..Default::default()
            };
            w.handle(
                0,
                Request::PlaceOrder {
                    order_id: id,
                    contract: ct.clone(),
                    order: o,
                },
            );
            w.handle(
                0,
                Request::ReqHistoricalData {
                    req_id: id,
                    contract: ct.clone(),
                    end_date_time: ["", "19000101 00:00:00", "99991231 23:59:59 UTC", "garbage"]
                        [id as usize % 4]
                        .into(),
                    bar_size: ["1 secs", "1 day", "1M", "bogus"][id as usize % 4].into(),
                    duration: ["9223372036854775807 Y", "0 D", "-3 S", "2000 S"][id as usize % 4]
                        .into(),
                    use_rth: false,
                    what_to_show: ["TRADES", "BID", "MIDPOINT", "X"][id as usize % 4].into(),
                    format_date: 1,
                    keep_up_to_date: id % 2 == 0,
                },
            );
            w.handle(
                0,
                Request::ReqMktData {
                    req_id: id,
                    contract: ct.clone(),
                    generic_tick_list: "100,101,104,106,165,221,233,236,588,999,,".into(),
                    snapshot: id % 3 == 0,
                    regulatory_snapshot: false,
                },
            );
            w.handle(
                0,
                Request::ReqContractDetails {
                    req_id: id,
                    contract: ct.clone(),
                },
            );
            w.handle(
                0,
                Request::CancelOrder {
                    order_id: id - 3,
                    manual_order_cancel_time: String::new(),
                },
            );
            w.handle(
                0,
                Request::ReqScannerSubscription {
                    req_id: 10_000 + id,
                    subscription: ScannerSubscription {
                        number_of_rows: -4,
                        scan_code: "TOP_PERC_LOSE".into(),
                        above_price: Some(x),
                        ..Default::default()
                    },
                },
            );
            w.handle(
                0,
                Request::ReqPnLSingle {
                    req_id: 20_000 + id,
                    account: "NOPE".into(),
                    model_code: String::new(),
                    con_id: -1,
                },
            );
            w.handle(
                0,
                Request::ReqMatchingSymbols {
                    req_id: id,
                    pattern: "É".into(),
                },
            );
            w.handle(
                0,
                Request::Unsupported {
                    msg_id: 999,
                    req_id: Some(id),
                },
            );
        }
        w.advance(T0 + id as i64 * 10_000);
    }
    w.handle(0, Request::ReqGlobalCancel);
    w.handle(0, Request::ReqAutoOpenOrders { auto_bind: true });
    w.handle(0, Request::ReqAllOpenOrders);
    w.handle(0, Request::ReqCompletedOrders { api_only: false });
    w.set_clock_speed(1e6);
    w.jump_to(T0 + 400 * 86_400_000);
    w.advance(T0 + 1_000_000);
    w.advance(T0 + 2_000_000);
    assert!(!c.drain().is_empty());
}

#[test]
fn combo_bag_orders_fill_every_leg() {
    use tws_sim::api::{ComboLeg, Contract};
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(
        &mut w,
        Request::ReqSecDefOptParams {
            req_id: 1,
            underlying_symbol: "SPY".into(),
            fut_fop_exchange: String::new(),
            underlying_sec_type: "STK".into(),
            underlying_con_id: 0,
        },
    );
    let Response::SecDefOptParams {
        expirations,
        strikes,
        ..
    } = &rs[0]
    else {
        panic!()
    };
    let mid = strikes.len() / 2;
    let leg = |strike: f64| Contract {
        symbol: "SPY".into(),
        sec_type: "OPT".into(),
        last_trade_date_or_contract_month: expirations[3].clone(),
        strike,
        right: "C".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    let con = |c: &mut Client, w: &mut tws_sim::world::World, k: f64| -> i32 {
        match &c.req(
            w,
            Request::ReqContractDetails {
                req_id: 2,
                contract: leg(k),
            },
        )[0]
        {
            Response::ContractData { details, .. } => details.contract.con_id,
            r => panic!("{r:?}"),
        }
    };
    let (k1, k2) = (strikes[mid], strikes[mid + 2]);
    let (c1, c2) = (con(&mut c, &mut w, k1), con(&mut c, &mut w, k2));
    let bag = Contract {
        symbol: "SPY".into(),
        sec_type: "BAG".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        combo_legs: vec![
            ComboLeg {
                con_id: c1,
                ratio: 1,
                action: "BUY".into(),
                exchange: "SMART".into(),
            },
            ComboLeg {
                con_id: c2,
                ratio: 1,
                action: "SELL".into(),
                exchange: "SMART".into(),
            },
        ],
        ..Default::default()
    };
    // What-if first.
    let mut wi = order("BUY", 2.0, "LMT", Some(50.0), None);
    wi.what_if = true;
    let rs = place(&mut c, &mut w, 90, bag.clone(), wi);
    assert!(matches!(&rs[0], Response::OpenOrder { state, .. } if state.commission == Some(2.6)));
    // A generous debit limit fills at the combo ask.
    let rs = place(
        &mut c,
        &mut w,
        91,
        bag.clone(),
        order("BUY", 2.0, "LMT", Some(50.0), None),
    );
    assert_eq!(statuses(&rs, 91).last().unwrap(), "Filled");
    let legs: Vec<_> = rs
        .iter()
        .filter_map(|r| match r {
            Response::ExecDetails {
                contract,
                execution,
                ..
            } => Some((
                contract.con_id,
                execution.side.clone(),
                execution.shares,
                execution.price,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(legs.len(), 2);
    assert_eq!((legs[0].0, legs[0].1.as_str(), legs[0].2), (c1, "BOT", 2.0));
    assert_eq!((legs[1].0, legs[1].1.as_str(), legs[1].2), (c2, "SLD", 2.0));
    let avg = rs
        .iter()
        .rev()
        .find_map(|r| match r {
            Response::OrderStatus { avg_fill_price, .. } => Some(*avg_fill_price),
            _ => None,
        })
        .unwrap();
    assert!(
        (avg - (legs[0].3 - legs[1].3)).abs() < 0.011,
        "{avg} vs legs {legs:?}"
    );
    assert!(avg > 0.0 && avg < k2 - k1);
    let pos: Vec<_> = w
        .positions()
        .into_iter()
        .filter(|p| p.sec_type == "OPT")
        .collect();
    assert_eq!(pos.len(), 2);
    assert!(pos.iter().any(|p| p.con_id == c1 && p.position == 2.0));
    assert!(pos.iter().any(|p| p.con_id == c2 && p.position == -2.0));
    // Bad combos.
    let mut bad = bag.clone();
    bad.combo_legs[1].con_id = 1;
    assert_eq!(
        errors(&place(
            &mut c,
            &mut w,
            92,
            bad,
            order("BUY", 1.0, "MKT", None, None)
        ))[0]
            .1,
        200
    );
    let mut empty = bag;
    empty.combo_legs.clear();
    assert_eq!(
        errors(&place(
            &mut c,
            &mut w,
            93,
            empty,
            order("BUY", 1.0, "MKT", None, None)
        ))[0]
            .1,
        314
    );
}

#[test]
fn two_accounts_futures_and_fx() {
    use tws_sim::api::Contract;
    use tws_sim::world::config::AccountConfig;
    let mut cfg = config();
    cfg.accounts.push(AccountConfig {
        id: "DU7654321".into(),
        cash: 250_000.0,
        positions: Vec::new(),
    });
    let mut w = tws_sim::world::World::new(cfg);
    let mut c = Client::attach(&mut w, 1);
    let rs = c.req(&mut w, Request::ReqManagedAccts);
    assert!(matches!(&rs[0], Response::ManagedAccounts { accounts } if accounts.len() == 2));
    let es = Contract {
        symbol: "ES".into(),
        sec_type: "FUT".into(),
        exchange: "CME".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    // ES ticks are 0.25.
    let e = errors(&place(
        &mut c,
        &mut w,
        1,
        es.clone(),
        order("BUY", 1.0, "LMT", Some(6000.1), None),
    ));
    assert_eq!(e[0].1, 110);
    let mut o = order("BUY", 2.0, "MKT", None, None);
    o.account = "DU7654321".into();
    let rs = place(&mut c, &mut w, 2, es, o);
    assert_eq!(statuses(&rs, 2).last().unwrap(), "Filled");
    let fx = Contract {
        symbol: "EUR".into(),
        sec_type: "CASH".into(),
        exchange: "IDEALPRO".into(),
        currency: "USD".into(),
        ..Default::default()
    };
    let mut o = order("SELL", 100_000.0, "MKT", None, None);
    o.account = "DU7654321".into();
    let rs = place(&mut c, &mut w, 3, fx, o);
    assert_eq!(statuses(&rs, 3).last().unwrap(), "Filled");
    let accts = w.accounts();
    let second = accts.iter().find(|a| a.account == "DU7654321").unwrap();
    // Futures: only commissions move cash at the open; margin is per contract.
    assert!((second.init_margin - 44_000.0 - 0.03 * 100_000.0 * 1.16).abs() < 0.05 * 100_000.0);
    assert!(second.cash > 250_000.0); // sold EUR for USD
    let first = accts.iter().find(|a| a.account == "DU1234567").unwrap();
    assert!(first.net_liquidation > 900_000.0);
    let pos = w.positions();
    assert!(
        pos.iter()
            .any(|p| p.account == "DU7654321" && p.symbol == "ES" && p.position == 2.0)
    );
    assert!(
        pos.iter()
            .any(|p| p.account == "DU7654321" && p.symbol == "EUR" && p.position == -100_000.0)
    );
    // Account summary for All covers both accounts.
    let rs = c.req(
        &mut w,
        Request::ReqAccountSummary {
            req_id: 9,
            group: "All".into(),
            tags: "NetLiquidation".into(),
        },
    );
    assert_eq!(
        rs.iter()
            .filter(|r| matches!(r, Response::AccountSummary { .. }))
            .count(),
        2
    );
}

#[test]
fn stop_limit_reports_presubmitted_then_submitted_on_trigger() {
    let mut w = world();
    let mut c = Client::attach(&mut w, 1);
    let (bid, _, _) = snapshot(&mut c, &mut w, 9, stk("META"));
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    // Sell stop-limit: stop 2% below, limit 20% below; a shock of -5% triggers and fills.
    let mut o = order(
        "SELL",
        10.0,
        "STP LMT",
        Some(r2(bid * 0.8)),
        Some(r2(bid * 0.98)),
    );
    o.tif = "GTC".into();
    let rs = place(&mut c, &mut w, 1, stk("META"), o);
    assert_eq!(statuses(&rs, 1), vec!["PreSubmitted"]);
    assert_eq!(w.orders()[0].status, "PreSubmitted");
    // Sell stop-limit with a limit above the market after the trigger: Submitted, not filled.
    let mut o2 = order(
        "SELL",
        10.0,
        "STP LMT",
        Some(r2(bid * 0.99)),
        Some(r2(bid * 0.98)),
    );
    o2.tif = "GTC".into();
    place(&mut c, &mut w, 2, stk("META"), o2);
    w.shock("META", -0.05).unwrap();
    w.advance(T0 + 1_000);
    let rs = c.drain();
    assert_eq!(statuses(&rs, 1).last().unwrap(), "Filled");
    assert_eq!(statuses(&rs, 2), vec!["Submitted"]);
}
