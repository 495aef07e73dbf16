//! Which plugin placed which order: a plugin may modify or cancel only its own orders.
//!
//! The host records the ids of every order a plugin places successfully (`place`, each leg
//! of a `bracket`) in this process. `modify` and `cancel` from a plugin are refused with
//! `permission-denied` naming the order id unless the order is the plugin's own, or the
//! operator set `manage_all_orders = true` for that plugin. Orders of MCP tools, of other
//! plugins, of other API clients and of earlier host processes are therefore out of reach
//! by default (fail closed: after a host restart a plugin no longer manages the orders it
//! placed before; the operator can still cancel them with the order tools).
//!
//! Reading open orders and executions is not restricted further: it comes with the
//! `orders` capability, whose interface contains those functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bindings::types::Error as ApiError;

/// Most orders remembered; beyond it the oldest (lowest) ids are forgotten, so their
/// plugins can no longer modify them (fail closed).
pub const MAX_TRACKED_ORDERS: usize = 100_000;

/// Order id -> plugin that placed it. Shared by every plugin of one host (survives reloads).
#[derive(Debug, Default)]
pub struct OrderOwners {
    owners: parking_lot::Mutex<BTreeMap<i32, Arc<str>>>,
}

impl OrderOwners {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Record that `plugin` placed the orders `ids`.
    pub fn record(&self, plugin: &Arc<str>, ids: impl IntoIterator<Item = i32>) {
        let mut m = self.owners.lock();
        for id in ids {
            m.insert(id, plugin.clone());
        }
        while m.len() > MAX_TRACKED_ORDERS {
            m.pop_first();
        }
    }

    /// The plugin that placed `order_id`, if a plugin did (in this process).
    pub fn owner(&self, order_id: i32) -> Option<Arc<str>> {
        self.owners.lock().get(&order_id).cloned()
    }

    /// May `plugin` modify or cancel `order_id`? `action` ("modify", "cancel") goes into
    /// the error text.
    pub fn check(
        &self,
        plugin: &str,
        order_id: i32,
        manage_all: bool,
        action: &str,
    ) -> Result<(), ApiError> {
        if manage_all {
            return Ok(());
        }
        let hint = format!(
            "a plugin may {action} only orders it placed itself; the operator can allow more \
             with `manage_all_orders = true` in [plugins.plugin.{plugin}]"
        );
        match self.owner(order_id) {
            Some(owner) if &*owner == plugin => Ok(()),
            Some(owner) => Err(ApiError::PermissionDenied(format!(
                "cannot {action} order {order_id}: it was placed by plugin `{owner}`, not by \
                 `{plugin}`; {hint}"
            ))),
            None => Err(ApiError::PermissionDenied(format!(
                "cannot {action} order {order_id}: plugin `{plugin}` did not place it (it \
                 belongs to an MCP tool, another client or an earlier host process, or does \
                 not exist); {hint}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(r: Result<(), ApiError>) -> String {
        match r {
            Err(ApiError::PermissionDenied(m)) => m,
            other => panic!("expected permission-denied, got {other:?}"),
        }
    }

    #[test]
    fn only_the_placing_plugin_may_touch_an_order() {
        let owners = OrderOwners::new();
        let a: Arc<str> = Arc::from("alpha");
        owners.record(&a, [7, 8, 9]);
        owners.check("alpha", 8, false, "cancel").unwrap();
        let m = denied(owners.check("beta", 8, false, "cancel"));
        assert!(
            m.contains("order 8") && m.contains("`alpha`") && m.contains("`beta`"),
            "{m}"
        );
        let m = denied(owners.check("alpha", 42, false, "modify"));
        assert!(
            m.contains("modify order 42") && m.contains("manage_all_orders"),
            "{m}"
        );
        // The operator's setting lifts the restriction.
        owners.check("beta", 8, true, "cancel").unwrap();
        owners.check("beta", 42, true, "modify").unwrap();
    }

    #[test]
    fn the_registry_is_bounded_and_forgets_the_oldest() {
        let owners = OrderOwners::new();
        let a: Arc<str> = Arc::from("alpha");
        owners.record(&a, 0..(MAX_TRACKED_ORDERS as i32 + 10));
        assert!(owners.owner(0).is_none());
        assert!(owners.owner(MAX_TRACKED_ORDERS as i32 + 9).is_some());
    }
}
