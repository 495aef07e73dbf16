//! Typed broker errors. Every failure a caller (MCP tool, plugin, stream) can see.

use serde::Serialize;

/// TWS error code for "client id already in use".
pub const CLIENT_ID_IN_USE: i32 = 326;

/// TWS error code: TWS lost its connection to IB's servers.
pub const CONNECTIVITY_LOST: i32 = 1100;
/// TWS error code: connectivity to IB restored, market data subscriptions lost.
pub const CONNECTIVITY_RESTORED_DATA_LOST: i32 = 1101;
/// TWS error code: connectivity to IB restored, market data subscriptions kept.
pub const CONNECTIVITY_RESTORED_DATA_KEPT: i32 = 1102;

/// Port hint shown in connection errors and docs.
pub const PORT_HINT: &str =
    "TWS uses 7496 (live) / 7497 (paper); IB Gateway uses 4001 (live) / 4002 (paper)";

#[derive(Debug, Clone, thiserror::Error, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BrokerError {
    /// No live TWS connection (never connected, disconnected, or reconnecting).
    #[error("not connected to TWS/IB Gateway ({state}); {hint}")]
    NotConnected { state: String, hint: String },
    /// A broker call did not finish in time.
    #[error("{operation} timed out after {seconds:.1}s")]
    Timeout { operation: String, seconds: f64 },
    /// TWS answered with an error code.
    #[error("TWS error {code}: {message}")]
    Tws { code: i32, message: String },
    /// Connecting failed (connection refused, handshake failure, ...).
    #[error("cannot connect to {address}: {reason}. {hint}")]
    ConnectFailed {
        address: String,
        reason: String,
        hint: String,
    },
    /// An argument is invalid; `arg` names it as the caller spelled it.
    #[error("invalid argument `{arg}`: {reason}")]
    InvalidArgument { arg: String, reason: String },
    /// A guardrail refused an order.
    #[error("order refused by guardrail `{rule}`: {reason}")]
    Guardrail { rule: String, reason: String },
    /// The request was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// Nothing matched (e.g. no contract for a symbol).
    #[error("not found: {0}")]
    NotFound(String),
    /// Any other broker/library failure.
    #[error("broker error: {0}")]
    Other(String),
}

pub type BrokerResult<T> = Result<T, BrokerError>;

impl BrokerError {
    /// The TWS error code, if the error carries one.
    pub fn code(&self) -> Option<i32> {
        match self {
            BrokerError::Tws { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn invalid(arg: impl Into<String>, reason: impl Into<String>) -> Self {
        BrokerError::InvalidArgument {
            arg: arg.into(),
            reason: reason.into(),
        }
    }

    pub fn not_connected(state: impl Into<String>) -> Self {
        BrokerError::NotConnected {
            state: state.into(),
            hint: "call ibkr_connect or wait for the automatic reconnect".into(),
        }
    }

    /// A short machine-readable kind, e.g. `not_connected`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerError::NotConnected { .. } => "not_connected",
            BrokerError::Timeout { .. } => "timeout",
            BrokerError::Tws { .. } => "tws",
            BrokerError::ConnectFailed { .. } => "connect_failed",
            BrokerError::InvalidArgument { .. } => "invalid_argument",
            BrokerError::Guardrail { .. } => "guardrail",
            BrokerError::Cancelled => "cancelled",
            BrokerError::NotFound(_) => "not_found",
            BrokerError::Other(_) => "other",
        }
    }
}

impl From<ibapi::Error> for BrokerError {
    fn from(e: ibapi::Error) -> Self {
        use ibapi::Error as E;
        match e {
            E::Notice(n) => BrokerError::Tws {
                code: n.code,
                message: n.message,
            },
            E::ClientIdInUse { client_id } => BrokerError::Tws {
                code: CLIENT_ID_IN_USE,
                message: format!(
                    "client id {client_id} is already in use by another connection; choose another clientId"
                ),
            },
            E::ConnectionReset | E::ConnectionFailed | E::Shutdown => {
                BrokerError::not_connected(format!("connection lost: {e}"))
            }
            E::Timeout => BrokerError::Timeout {
                operation: "TWS request".into(),
                seconds: 0.0,
            },
            E::Cancelled => BrokerError::Cancelled,
            E::InvalidArgument(s) => BrokerError::InvalidArgument {
                arg: "request".into(),
                reason: s,
            },
            E::HistoricalParseError(p) => BrokerError::InvalidArgument {
                arg: "request".into(),
                reason: p.to_string(),
            },
            other => BrokerError::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_exact() {
        let e = BrokerError::Timeout {
            operation: "place order".into(),
            seconds: 1.0,
        };
        assert_eq!(e.to_string(), "place order timed out after 1.0s");
        assert_eq!(
            BrokerError::not_connected("disconnected").to_string(),
            "not connected to TWS/IB Gateway (disconnected); call ibkr_connect or wait for the \
             automatic reconnect"
        );
        let e = BrokerError::ConnectFailed {
            address: "127.0.0.1:4002".into(),
            reason: "connection refused".into(),
            hint: PORT_HINT.into(),
        };
        assert_eq!(
            e.to_string(),
            format!("cannot connect to 127.0.0.1:4002: connection refused. {PORT_HINT}")
        );
        assert!(PORT_HINT.contains("7497") && PORT_HINT.contains("4002"));
    }

    #[test]
    fn ibapi_errors_are_classified() {
        let notice = |code: i32, message: &str| {
            ibapi::Error::Notice(ibapi::Notice {
                request_id: Some(9),
                code,
                message: message.into(),
                error_time: None,
                advanced_order_reject_json: String::new(),
            })
        };
        let e = BrokerError::from(notice(
            162,
            "Historical Market Data Service error message:Pacing violation",
        ));
        assert_eq!(e.code(), Some(162));
        assert_eq!(e.kind(), "tws");
        assert_eq!(
            e.to_string(),
            "TWS error 162: Historical Market Data Service error message:Pacing violation"
        );

        let e = BrokerError::from(ibapi::Error::ClientIdInUse { client_id: 3 });
        assert_eq!(e.code(), Some(CLIENT_ID_IN_USE));

        for lost in [
            ibapi::Error::ConnectionReset,
            ibapi::Error::ConnectionFailed,
            ibapi::Error::Shutdown,
        ] {
            let e = BrokerError::from(lost);
            assert_eq!(e.kind(), "not_connected", "{e}");
            assert_eq!(e.code(), None);
        }
        assert_eq!(
            BrokerError::from(ibapi::Error::Cancelled),
            BrokerError::Cancelled
        );
        assert_eq!(BrokerError::from(ibapi::Error::Timeout).kind(), "timeout");
        assert_eq!(
            BrokerError::from(ibapi::Error::InvalidArgument("bad".into())),
            BrokerError::InvalidArgument {
                arg: "request".into(),
                reason: "bad".into()
            }
        );
        assert_eq!(
            BrokerError::from(ibapi::Error::Simple("x".into())).kind(),
            "other"
        );
    }

    #[test]
    fn kinds_serialize_as_tags() {
        let v = serde_json::to_value(BrokerError::Tws {
            code: 1100,
            message: "lost".into(),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "tws", "code": 1100, "message": "lost"})
        );
        let v = serde_json::to_value(BrokerError::Cancelled).unwrap();
        assert_eq!(v, serde_json::json!({"kind": "cancelled"}));
    }
}
