//! Shared checks of the order tests (`host_orders`, `host_preview_modify`, `plugins_confirm`):
//! the simulator's orders, waited for with a deadline, and the host's audit records.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use e2e::TestEnv;
use e2e::ibkr_mcp::broker::audit::AuditRecord;
use e2e::tws_sim::world::OrderInfo;

/// How long a wait on the simulator's order state may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Poll the simulator's orders until `pred` holds for them; after [`DEADLINE`] fail naming
/// `what` and showing the last orders seen.
pub async fn sim_orders_until(
    env: &TestEnv,
    what: &str,
    pred: impl Fn(&[OrderInfo]) -> bool,
) -> Result<Vec<OrderInfo>> {
    let start = Instant::now();
    loop {
        let orders = env.sim.admin().orders();
        if pred(&orders) {
            return Ok(orders);
        }
        if start.elapsed() > DEADLINE {
            bail!("timed out after {DEADLINE:?} waiting for {what}; simulator orders: {orders:#?}");
        }
        // The poll interval of the deadline-bounded wait above.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The client id the host's connection uses.
pub fn client_id(env: &TestEnv) -> i32 {
    env.host.broker.status().client_id
}

/// The simulator's order `id` of the host's client id.
pub fn sim_order(env: &TestEnv, id: i64) -> OrderInfo {
    let client_id = client_id(env);
    let orders = env.sim.admin().orders();
    orders
        .iter()
        .find(|o| i64::from(o.order_id) == id && o.client_id == client_id)
        .cloned()
        .unwrap_or_else(|| {
            panic!("order {id} of client {client_id} not in the simulator: {orders:#?}")
        })
}

/// The host's audit records, oldest first.
pub fn audit(env: &TestEnv) -> Vec<AuditRecord> {
    env.host.broker.audit().records().expect("audit records")
}

/// The events of the host's audit records, oldest first.
pub fn events(env: &TestEnv) -> Vec<String> {
    audit(env).into_iter().map(|r| r.event).collect()
}

/// The host's default (first managed) account.
pub fn account(env: &TestEnv) -> String {
    env.host
        .broker
        .default_account()
        .expect("a managed account")
}
