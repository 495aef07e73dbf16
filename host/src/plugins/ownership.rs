//! Which plugin placed which order: a plugin may modify or cancel only its own orders.
//!
//! The host records the ids of every order a plugin places successfully (`place`, each leg
//! of a `bracket`). `modify` and `cancel` from a plugin are refused with `permission-denied`
//! naming the order id unless the order is the plugin's own, or the operator set
//! `manage_all_orders = true` for that plugin. Orders of MCP tools, of other plugins and of
//! other API clients are therefore out of reach by default.
//!
//! At start the record is rebuilt from the audit log ([`OrderOwners::restore`]): every
//! `placed` record names its origin and the order id TWS confirmed, so a plugin keeps
//! managing the orders it placed before a host restart. A later placement under the same id
//! by anyone else (an MCP tool after an id reset) takes the id away from the plugin. With an
//! in-memory audit log (`audit.path = ""`) nothing survives a restart (fail closed).
//!
//! Reading open orders and executions is not restricted further: it comes with the
//! `orders` capability, whose interface contains those functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bindings::types::Error as ApiError;
use crate::broker::audit::AuditRecord;

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

    /// Rebuild the record from audit records (oldest first): each successful placement
    /// (`placed`, one per bracket leg) gives its order id to the plugin that placed it, or
    /// takes it away when an MCP tool placed it. Returns how many orders plugins own after.
    pub fn restore<'a>(&self, records: impl IntoIterator<Item = &'a AuditRecord>) -> usize {
        let mut m = self.owners.lock();
        for r in records {
            if r.event != "placed" {
                continue;
            }
            let Some(id) = r
                .details
                .pointer("/status/orderId")
                .and_then(|v| v.as_i64())
                .and_then(|v| i32::try_from(v).ok())
                .filter(|&id| id > 0)
            else {
                continue;
            };
            match r.origin.strip_prefix("plugin:") {
                Some(plugin) if !plugin.is_empty() => {
                    m.insert(id, Arc::from(plugin));
                }
                _ => {
                    m.remove(&id);
                }
            }
        }
        while m.len() > MAX_TRACKED_ORDERS {
            m.pop_first();
        }
        m.len()
    }

    /// The plugin that placed `order_id`, if a plugin did.
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
                 belongs to an MCP tool or another client, or does not exist); {hint}"
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
    fn ownership_is_rebuilt_from_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = crate::broker::audit::AuditLog::open(&path).unwrap();
        let placed = |origin: &str, id: i32| {
            log.append(
                "placed",
                origin,
                serde_json::json!({ "request": {}, "status": { "orderId": id } }),
            );
        };
        log.append("place_requested", "plugin:alpha", serde_json::json!({}));
        placed("plugin:alpha", 11);
        placed("plugin:alpha", 12);
        placed("plugin:beta", 13);
        placed("tool:ibkr_place_order", 14);
        // An id placed by a plugin, later reused by a tool (after an id reset): the tool's.
        placed("plugin:alpha", 15);
        placed("tool:ibkr_place_order", 15);
        log.append(
            "place_failed",
            "plugin:alpha",
            serde_json::json!({ "request": {}, "error": "rejected" }),
        );
        drop(log);

        // A new host process: a fresh registry over the same file.
        let reopened = crate::broker::audit::AuditLog::open(&path).unwrap();
        let owners = OrderOwners::new();
        assert_eq!(owners.restore(&reopened.records().unwrap()), 3);
        owners.check("alpha", 11, false, "cancel").unwrap();
        owners.check("alpha", 12, false, "modify").unwrap();
        owners.check("beta", 13, false, "cancel").unwrap();
        denied(owners.check("alpha", 13, false, "cancel"));
        denied(owners.check("alpha", 14, false, "cancel"));
        denied(owners.check("alpha", 15, false, "cancel"));
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
