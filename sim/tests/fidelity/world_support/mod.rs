// Shared helpers for the world_* tests (included with `#[path]`, not a test target itself).
#![allow(dead_code)]

use tokio::sync::mpsc;
use tws_sim::api::{Contract, Order, Request, Response};
use tws_sim::world::{Outbox, World, WorldConfig};

/// 2026-01-07 15:00:00 UTC (a Wednesday).
pub const T0: i64 = 1_767_798_000_000;

pub fn config() -> WorldConfig {
    WorldConfig {
        manual_clock: true,
        start_time: Some("2026-01-07T15:00:00Z".into()),
        bulletin_interval_ms: 0,
        ..Default::default()
    }
}

pub fn world() -> World {
    World::new(config())
}

pub struct Client {
    pub id: i32,
    pub rx: mpsc::Receiver<Response>,
}

impl Client {
    pub fn attach(w: &mut World, id: i32) -> Client {
        let (tx, rx) = mpsc::channel(1_000_000);
        w.attach(id, Outbox::new(tx)).expect("attach");
        let mut c = Client { id, rx };
        c.drain();
        c
    }
    pub fn drain(&mut self) -> Vec<Response> {
        let mut v = Vec::new();
        while let Ok(r) = self.rx.try_recv() {
            v.push(r);
        }
        v
    }
    pub fn req(&mut self, w: &mut World, r: Request) -> Vec<Response> {
        w.handle(self.id, r);
        self.drain()
    }
}

pub fn stk(sym: &str) -> Contract {
    Contract {
        symbol: sym.into(),
        sec_type: "STK".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        ..Default::default()
    }
}

pub fn order(action: &str, qty: f64, otype: &str, lmt: Option<f64>, aux: Option<f64>) -> Order {
    Order {
        action: action.into(),
        total_quantity: qty,
        order_type: otype.into(),
        lmt_price: lmt,
        aux_price: aux,
        tif: "DAY".into(),
        transmit: true,
        ..Default::default()
    }
}

pub fn place(
    c: &mut Client,
    w: &mut World,
    id: i32,
    contract: Contract,
    o: Order,
) -> Vec<Response> {
    c.req(
        w,
        Request::PlaceOrder {
            order_id: id,
            contract,
            order: o,
        },
    )
}

pub fn errors(rs: &[Response]) -> Vec<(i32, i32, String)> {
    rs.iter()
        .filter_map(|r| match r {
            Response::Error {
                id, code, message, ..
            } => Some((*id, *code, message.clone())),
            _ => None,
        })
        .collect()
}

pub fn statuses(rs: &[Response], oid: i32) -> Vec<String> {
    rs.iter()
        .filter_map(|r| match r {
            Response::OrderStatus {
                order_id, status, ..
            } if *order_id == oid => Some(status.clone()),
            _ => None,
        })
        .collect()
}

/// Bid/ask/last of a symbol via a snapshot.
pub fn snapshot(c: &mut Client, w: &mut World, req_id: i32, contract: Contract) -> (f64, f64, f64) {
    let rs = c.req(
        w,
        Request::ReqMktData {
            req_id,
            contract,
            generic_tick_list: String::new(),
            snapshot: true,
            regulatory_snapshot: false,
        },
    );
    let mut q = (0.0, 0.0, 0.0);
    for r in &rs {
        if let Response::TickPrice {
            tick_type, price, ..
        } = r
        {
            match *tick_type {
                1 => q.0 = *price,
                2 => q.1 = *price,
                4 => q.2 = *price,
                _ => {}
            }
        }
    }
    assert!(matches!(rs.last(), Some(Response::TickSnapshotEnd { .. })));
    q
}
