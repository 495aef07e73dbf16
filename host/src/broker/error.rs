//! Typed broker errors. Every failure a caller (MCP tool, plugin, stream) can see.

use serde::Serialize;

/// TWS error code for "client id already in use".
pub const CLIENT_ID_IN_USE: i32 = 326;

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
