//! ibapi 5.5 against the simulator: orders, fills, executions, what-if, rejects.

use crate::ibapi_common;

use std::time::Duration;

use ibapi::orders::{CancelOrder, Executions, OrderStatusKind, order_builder};
use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim, wait_until};

const ACCOUNT: &str = "DU1234567";

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("request timed out")
}

/// Reads items until `done` says so (or 15 s pass). Returns data items and TWS codes seen
/// (errors and notices).
async fn read_until<S, D>(
    sub: &mut S,
    mut done: impl FnMut(&D, &[i32]) -> bool,
) -> (Vec<D>, Vec<i32>)
where
    S: futures::Stream<Item = Result<SubscriptionItem<D>, ibapi::Error>> + Unpin,
{
    let mut items = Vec::new();
    let mut codes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, sub.next()).await {
        match item {
            Ok(SubscriptionItem::Data(d)) => {
                let stop = done(&d, &codes);
                items.push(d);
                if stop {
                    break;
                }
            }
            Ok(SubscriptionItem::Notice(n)) => codes.push(n.code),
            Err(ibapi::Error::Notice(n)) => {
                codes.push(n.code);
                if n.code != 202 && n.code < 2000 {
                    break;
                }
            }
            Err(e) => panic!("stream error: {e:?}"),
        }
    }
    (items, codes)
}

fn quote(sim: &tws_sim::SimHandle, symbol: &str) -> tws_sim::world::QuoteInfo {
    sim.admin().with_world(|w| w.quote(symbol)).expect("quote")
}

/// TotalCashValue from a fresh account summary request.
async fn cash(client: &Client) -> f64 {
    let mut sub = within(client.account_summary(&AccountGroup::from("All"), &["TotalCashValue"]))
        .await
        .unwrap();
    let mut value = None;
    loop {
        match within(sub.next()).await.unwrap().unwrap() {
            SubscriptionItem::Data(AccountSummaryResult::Summary(s))
                if s.tag == "TotalCashValue" =>
            {
                value = Some(s.value.parse::<f64>().unwrap())
            }
            SubscriptionItem::Data(AccountSummaryResult::End) => break,
            _ => {}
        }
    }
    sub.cancel().await;
    value.expect("TotalCashValue")
}

fn position(sim: &tws_sim::SimHandle, symbol: &str) -> f64 {
    sim.admin()
        .positions()
        .iter()
        .filter(|p| p.symbol == symbol && p.sec_type == "STK")
        .map(|p| p.position)
        .sum()
}

#[tokio::test]
async fn market_order_fills_and_shows_everywhere() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let aapl = Contract::stock("AAPL").build();
    let before = position(&sim, "AAPL");
    let cash_before = cash(&client).await;

    let id = client.next_order_id();
    let mut sub =
        within(client.place_order(id, &aapl, &order_builder::market_order(Action::Buy, 10.0)))
            .await
            .unwrap();
    let mut filled = false;
    let mut exec_id = None;
    let (items, codes) = read_until(&mut sub, |p: &PlaceOrder, _| {
        match p {
            PlaceOrder::OrderStatus(s) if s.status == OrderStatusKind::Filled => filled = true,
            PlaceOrder::ExecutionData(e) => exec_id = Some(e.execution.execution_id.clone()),
            _ => {}
        }
        filled && exec_id.is_some() && matches!(p, PlaceOrder::CommissionReport(_))
    })
    .await;
    assert!(filled, "order filled: items {items:?} codes {codes:?}");
    let open = items.iter().find_map(|p| match p {
        PlaceOrder::OpenOrder(o) => Some(o),
        _ => None,
    });
    let open = open.expect("openOrder sent");
    assert_eq!(open.order_id, id);
    assert_eq!(open.order.client_id, 1, "placing client's id on the order");
    let exec = items
        .iter()
        .find_map(|p| match p {
            PlaceOrder::ExecutionData(e) => Some(e),
            _ => None,
        })
        .expect("execution");
    assert_eq!(exec.execution.shares, 10.0);
    assert_eq!(exec.execution.side, ExecutionSide::Bought);
    assert_eq!(exec.execution.account_number, ACCOUNT);
    assert!(exec.execution.price > 0.0);
    let comm = items
        .iter()
        .find_map(|p| match p {
            PlaceOrder::CommissionReport(c) => Some(c),
            _ => None,
        })
        .expect("commission report");
    assert_eq!(Some(&comm.execution_id), exec_id.as_ref());
    assert!(comm.commission > 0.0);

    // Executions request: the fill and its commission report. (ibapi routes an execution to a
    // live place_order subscription of the same order id first, so end that one.)
    drop(sub);
    let mut ex = within(client.executions(ExecutionFilter::default()))
        .await
        .unwrap();
    let mut found_exec = false;
    let mut found_comm = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, ex.next()).await {
        match item {
            Ok(SubscriptionItem::Data(Executions::ExecutionData(e))) => {
                if Some(&e.execution.execution_id) == exec_id.as_ref() {
                    found_exec = true
                }
            }
            Ok(SubscriptionItem::Data(Executions::CommissionReport(c))) => {
                if Some(&c.execution_id) == exec_id.as_ref() {
                    found_comm = true
                }
            }
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
        if found_exec && found_comm {
            break;
        }
    }
    assert!(
        found_exec && found_comm,
        "executions: exec {found_exec} commission {found_comm}"
    );

    // Positions (wire and world) reflect the fill.
    assert_eq!(position(&sim, "AAPL"), before + 10.0);
    let mut pos = within(client.positions()).await.unwrap();
    let mut wire_pos = None;
    loop {
        match within(pos.next()).await.unwrap().unwrap() {
            SubscriptionItem::Data(PositionUpdate::Position(p))
                if p.contract.symbol.as_str() == "AAPL" =>
            {
                wire_pos = Some(p.position)
            }
            SubscriptionItem::Data(PositionUpdate::PositionEnd) => break,
            _ => {}
        }
    }
    assert_eq!(wire_pos, Some(before + 10.0));
    pos.cancel().await;

    // Portfolio value in account updates.
    let mut upd = within(client.account_updates(&AccountId::from(ACCOUNT)))
        .await
        .unwrap();
    let mut port = None;
    loop {
        match within(upd.next()).await.unwrap().unwrap() {
            SubscriptionItem::Data(AccountUpdate::PortfolioValue(p))
                if p.contract.symbol.as_str() == "AAPL" =>
            {
                port = Some(p.position)
            }
            SubscriptionItem::Data(AccountUpdate::End) => break,
            _ => {}
        }
    }
    assert_eq!(port, Some(before + 10.0));
    upd.cancel().await;

    // PnL single shows the new position.
    let con_id = exec.contract.contract_id;
    let mut ps = within(client.pnl_single(&AccountId::from(ACCOUNT), ContractId(con_id), None))
        .await
        .unwrap();
    let first = loop {
        if let SubscriptionItem::Data(d) = within(ps.next()).await.unwrap().unwrap() {
            break d;
        }
    };
    assert_eq!(first.position, before + 10.0);
    ps.cancel().await;

    // Account summary: cash paid for the shares plus commission.
    let cash_after = cash(&client).await;
    let cost = exec.execution.shares * exec.execution.price + comm.commission;
    assert!(
        (cash_before - cash_after - cost).abs() < 0.05,
        "cash {cash_before} -> {cash_after}, expected -{cost}"
    );

    // Completed orders include it.
    let mut done = within(client.completed_orders(false)).await.unwrap();
    let (items, _) = read_until(&mut done, |_: &Orders, _| false).await;
    assert!(
        items.iter().any(
            |o| matches!(o, Orders::OrderData(d) if d.order_state.status == OrderStatusKind::Filled)
        ),
        "completed orders: {items:?}"
    );

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_order_rests_modify_then_cancel() {
    let sim = start_sim().await;
    let client = connect(&sim, 2).await;
    let aapl = Contract::stock("AAPL").build();
    let px = quote(&sim, "AAPL").bid;
    let low = ((px * 0.5) * 100.0).round() / 100.0;

    let id = client.next_order_id();
    let mut sub = within(client.place_order(
        id,
        &aapl,
        &order_builder::limit_order(Action::Buy, 5.0, low),
    ))
    .await
    .unwrap();
    let (_, codes) = read_until(&mut sub, |p: &PlaceOrder, _| {
        matches!(p, PlaceOrder::OrderStatus(s) if s.status == OrderStatusKind::Submitted)
    })
    .await;
    assert!(codes.is_empty(), "codes {codes:?}");
    let o = sim
        .admin()
        .orders()
        .into_iter()
        .find(|o| o.order_id == id)
        .expect("order in world");
    assert_eq!(o.status, "Submitted");
    assert_eq!(o.lmt_price, Some(low));

    // Open orders lists it.
    let mut oo = within(client.open_orders()).await.unwrap();
    let (items, _) = read_until(&mut oo, |_: &Orders, _| false).await;
    assert!(
        items
            .iter()
            .any(|o| matches!(o, Orders::OrderData(d) if d.order_id == id)),
        "{items:?}"
    );

    // Modify: same id, new price.
    let lower = ((px * 0.4) * 100.0).round() / 100.0;
    let mut sub2 = within(client.place_order(
        id,
        &aapl,
        &order_builder::limit_order(Action::Buy, 5.0, lower),
    ))
    .await
    .unwrap();
    let (items, _) = read_until(&mut sub2, |p: &PlaceOrder, _| {
        matches!(p, PlaceOrder::OpenOrder(_))
    })
    .await;
    let PlaceOrder::OpenOrder(o) = items.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(o.order.limit_price, Some(lower));
    assert_eq!(
        sim.admin()
            .orders()
            .into_iter()
            .find(|o| o.order_id == id)
            .unwrap()
            .lmt_price,
        Some(lower)
    );

    // A second client sees it via all_open_orders.
    let other = connect(&sim, 3).await;
    let mut all = within(other.all_open_orders()).await.unwrap();
    let (items, _) = read_until(&mut all, |_: &Orders, _| false).await;
    assert!(
        items
            .iter()
            .any(|o| matches!(o, Orders::OrderData(d) if d.order_id == id)),
        "{items:?}"
    );
    other.disconnect().await;

    // Cancel.
    let mut c = within(client.cancel_order(id, "")).await.unwrap();
    let (items, codes) = read_until(&mut c, |s: &CancelOrder, _| {
        let CancelOrder::OrderStatus(s) = s;
        s.status == OrderStatusKind::Cancelled
    })
    .await;
    assert!(!items.is_empty(), "cancel status; codes {codes:?}");
    assert_eq!(
        sim.admin()
            .orders()
            .into_iter()
            .find(|o| o.order_id == id)
            .unwrap()
            .status,
        "Cancelled"
    );

    // Re-using the id of a cancelled order: 103 duplicate order id.
    let mut dup = within(client.place_order(
        id,
        &aapl,
        &order_builder::limit_order(Action::Buy, 5.0, low),
    ))
    .await
    .unwrap();
    let (_, codes) = read_until(&mut dup, |_: &PlaceOrder, _| false).await;
    assert!(codes.contains(&103), "codes {codes:?}");

    // Cancelling an unknown order: 10147.
    let mut c = within(client.cancel_order(999_999, "")).await.unwrap();
    let (_, codes) = read_until(&mut c, |_: &CancelOrder, _| false).await;
    assert!(codes.contains(&10147), "codes {codes:?}");

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn rejects_use_real_tws_codes() {
    let sim = start_sim().await;
    let client = connect(&sim, 4).await;

    // Unknown symbol: 200.
    let id = client.next_order_id();
    let mut sub = within(client.place_order(
        id,
        &Contract::stock("ZZZZNOPE").build(),
        &order_builder::market_order(Action::Buy, 1.0),
    ))
    .await
    .unwrap();
    let (_, codes) = read_until(&mut sub, |_: &PlaceOrder, _| false).await;
    assert!(codes.contains(&200), "codes {codes:?}");

    // Price off the tick grid: 110.
    let id = client.next_order_id();
    let mut sub = within(client.place_order(
        id,
        &Contract::stock("AAPL").build(),
        &order_builder::limit_order(Action::Buy, 1.0, 100.001),
    ))
    .await
    .unwrap();
    let (_, codes) = read_until(&mut sub, |_: &PlaceOrder, _| false).await;
    assert!(codes.contains(&110), "codes {codes:?}");

    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn bracket_order_and_what_if() {
    let sim = start_sim().await;
    let client = connect(&sim, 5).await;
    let aapl = Contract::stock("AAPL").build();
    let px = quote(&sim, "AAPL").ask;
    let r = |x: f64| (x * 100.0).round() / 100.0;

    // What-if: margin and commission, no order created.
    let state = within(client.order(&aapl).buy(100).market().analyze())
        .await
        .unwrap();
    assert!(
        state.initial_margin_after.is_some(),
        "what-if margin: {state:?}"
    );
    assert!(
        state.commission.is_some_and(|c| c > 0.0),
        "what-if commission: {state:?}"
    );
    assert!(
        sim.admin().orders().is_empty(),
        "what-if must not create orders"
    );

    // Bracket with an entry far below the market: the parent rests, the children wait.
    let ids = within(
        client
            .order(&aapl)
            .buy(10)
            .bracket()
            .entry_limit(r(px * 0.5))
            .take_profit(r(px * 0.6))
            .stop_loss(r(px * 0.4))
            .submit_all(),
    )
    .await
    .unwrap();
    wait_until("the bracket's three orders in the world", || {
        sim.admin().orders().len() == 3
    })
    .await;
    let orders = sim.admin().orders();
    assert_eq!(orders.len(), 3, "{orders:?}");
    let parent = orders
        .iter()
        .find(|o| o.order_id == ids.parent.value())
        .unwrap();
    assert_eq!(parent.status, "Submitted");
    for child in [ids.take_profit.value(), ids.stop_loss.value()] {
        let c = orders.iter().find(|o| o.order_id == child).unwrap();
        assert_eq!(c.parent_id, ids.parent.value());
        assert_eq!(c.status, "PreSubmitted");
    }

    // Cancelling the parent cancels the children.
    let _c = within(client.cancel_order(ids.parent.value(), ""))
        .await
        .unwrap();
    wait_until("parent and children cancelled", || {
        sim.admin().orders().iter().all(|o| o.status == "Cancelled")
    })
    .await;

    client.disconnect().await;
    sim.shutdown().await;
}
