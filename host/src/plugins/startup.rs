//! Starting the plugin runtime inside the host.

use std::sync::Arc;

use super::broker_backend::BrokerBackend;
use super::config::PluginsConfig;
use super::manager::PluginHost;
use crate::broker::Broker;
use crate::mcp::registry::Registry;

/// The running plugin subsystem (keep it alive as long as the server runs).
pub struct Plugins {
    /// The plugin host.
    pub host: Arc<PluginHost>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins").field("host", &self.host).finish()
    }
}

impl Drop for Plugins {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Create the plugin host over the broker, load the plugin directory, register plugin
/// tools and prompts with the MCP registry, and start hot reload.
pub async fn start(
    config: &PluginsConfig,
    broker: Broker,
    registry: &Arc<Registry>,
) -> Result<Plugins, String> {
    let audit = broker.audit().clone();
    let host = PluginHost::new(config.clone(), Arc::new(BrokerBackend::new(broker)))?;
    // Plugins keep managing the orders they placed before a restart.
    match audit.records() {
        Ok(records) => {
            let owned = host.restore_order_owners(&records);
            tracing::info!(owned, "plugin order ownership restored from the audit log");
        }
        Err(e) => tracing::warn!(
            "cannot read the audit log ({e}): plugins manage only orders placed from now on"
        ),
    }
    let report = host.scan().await;
    for (name, why) in &report.refused {
        tracing::warn!(plugin = %name, "plugin refused: {why}");
    }
    tracing::info!(
        loaded = report.loaded.len(),
        refused = report.refused.len(),
        tools = host.tools().len(),
        prompts = host.prompts().len(),
        "plugins started"
    );
    let mut tasks = vec![super::mcp::attach(registry, host.clone())];
    if let Some(w) = host.spawn_watcher() {
        tasks.push(w);
    }
    Ok(Plugins { host, tasks })
}
