//! Connection tools: ibkr_connect, ibkr_disconnect, ibkr_get_status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;
use crate::broker::{ConnectionStatus, Target};
use crate::mcp::registry::{Kind, ToolDef, tool};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectParams {
    /// TWS / IB Gateway host. Omit to use the configured TWS_HOST.
    #[serde(default)]
    #[schemars(with = "String")]
    pub host: Option<String>,
    /// TWS / IB Gateway API port: TWS 7496 live / 7497 paper, IB Gateway 4001 live / 4002 paper.
    /// Omit to use the configured TWS_PORT.
    #[serde(default)]
    #[schemars(with = "u16")]
    pub port: Option<u16>,
    /// Unique API client id of this connection. Omit to use the configured TWS_CLIENT_ID.
    #[serde(default, rename = "clientId")]
    #[schemars(with = "i32")]
    pub client_id: Option<i32>,
}

/// Result of connect / disconnect.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectResult {
    /// `connected`, `already_connected` or `disconnected`.
    pub status: String,
    /// Full connection status.
    pub connection: ConnectionStatus,
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "connection",
            "ibkr_connect",
            "Connect to TWS / IB Gateway",
            "Connect to IBKR TWS or IB Gateway. Ports: TWS 7496 live / 7497 paper, IB Gateway 4001 \
             live / 4002 paper. Omitted arguments use the host's configuration. A client id already \
             in use fails with TWS error 326.",
            Kind::Control,
            |broker, p: ConnectParams, _ctx| async move {
                let before = broker.status();
                let cfg = broker.config();
                let target = Target {
                    host: p
                        .host
                        .filter(|h| !h.trim().is_empty())
                        .unwrap_or_else(|| before.host.clone()),
                    port: p.port.filter(|p| *p != 0).unwrap_or(before.port),
                    client_id: p.client_id.unwrap_or(cfg.client_id),
                };
                if target.port == 0 {
                    return Err(crate::broker::BrokerError::invalid(
                        "port",
                        "must be 1-65535",
                    ));
                }
                let already =
                    before.is_connected && before.host == target.host && before.port == target.port;
                let status = broker.connect(Some(target)).await?;
                Ok(ConnectResult {
                    status: if already {
                        "already_connected"
                    } else {
                        "connected"
                    }
                    .into(),
                    connection: status,
                })
            },
        ),
        tool(
            "connection",
            "ibkr_disconnect",
            "Disconnect from TWS / IB Gateway",
            "Disconnect from TWS/IB Gateway. The host stays disconnected until ibkr_connect.",
            Kind::Control,
            |broker, _p: NoParams, _ctx| async move {
                let status = broker.disconnect().await;
                Ok(ConnectResult {
                    status: "disconnected".into(),
                    connection: status,
                })
            },
        ),
        tool(
            "connection",
            "ibkr_get_status",
            "Connection status",
            "Get the current connection status: state (disconnected / connecting / connected), \
             is_connected, host, port, client id, server version, managed accounts, last error.",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move { Ok(broker.status()) },
        ),
    ]
}
