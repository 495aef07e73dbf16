//! User confirmation of plugin orders through MCP elicitation (`elicitation/create`).
//!
//! Used only when the calling client declared the `elicitation` capability on a legacy
//! (2025-11-25, session-based) connection: the 2026-07-28 stateless protocol forbids
//! server-to-client requests, and a client without the capability has no way to answer.
//! In both cases no [`Confirmer`] is installed and the runtime answers "no confirmation
//! channel" (plugins then refuse unless the operator waived confirmation).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::Peer;
use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema, ProtocolVersion};
use rmcp::service::ServiceError;
use tokio_util::sync::CancellationToken;

use super::backend::{ApiResult, Confirmer};
use super::bindings::types::Error as ApiError;

/// Ceiling of one elicitation request. The runtime bounds every wait by the plugin's own
/// confirmation budget ([`super::Limits::confirm_timeout_ms`]), which is never longer.
pub const ELICITATION_CEILING: Duration =
    Duration::from_millis(super::limits::MAX_CONFIRM_TIMEOUT_MS);

/// The boolean field of the elicitation form.
pub const CONFIRM_FIELD: &str = "confirm";

/// Asks the MCP client's user with a one-field (`confirm: boolean`) elicitation form.
pub struct ElicitationConfirmer {
    peer: Peer<RoleServer>,
    timeout: Duration,
    cancel: CancellationToken,
}

impl ElicitationConfirmer {
    /// A confirmer for the client behind `peer`, or `None` when that client cannot answer
    /// an elicitation (no `elicitation` capability, or a 2026-07-28+ stateless request).
    pub fn for_peer(
        peer: &Peer<RoleServer>,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Option<Self> {
        let info = peer.peer_info()?;
        if info.protocol_version >= ProtocolVersion::V_2026_07_28 {
            return None;
        }
        let e = info.capabilities.elicitation.as_ref()?;
        // Form mode: declared explicitly, or implied when neither mode is named (older
        // clients declare just `"elicitation": {}`).
        if e.form.is_none() && e.url.is_some() {
            return None;
        }
        Some(ElicitationConfirmer {
            peer: peer.clone(),
            timeout,
            cancel,
        })
    }

    fn schema() -> ApiResult<ElicitationSchema> {
        ElicitationSchema::builder()
            .required_bool_property(CONFIRM_FIELD, |b| {
                b.title("Confirm")
                    .description("true to go ahead, false to refuse")
                    .with_default(false)
            })
            .build()
            .map_err(|e| ApiError::Failed(format!("confirmation form: {e}")))
    }

    async fn ask(&self, message: String) -> ApiResult<bool> {
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema: Self::schema()?,
        };
        let secs = self.timeout.as_secs();
        let request = self
            .peer
            .create_elicitation_with_timeout(params, Some(self.timeout));
        let result = tokio::select! {
            r = request => r,
            _ = self.cancel.cancelled() => return Err(ApiError::Cancelled),
        };
        match result {
            Ok(r) => match r.action {
                ElicitationAction::Accept => Ok(r
                    .content
                    .as_ref()
                    .and_then(|c| c.get(CONFIRM_FIELD))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)),
                ElicitationAction::Decline | ElicitationAction::Cancel => Ok(false),
                // A future action this host does not know: not a confirmation.
                #[allow(unreachable_patterns)]
                _ => Ok(false),
            },
            Err(ServiceError::Timeout { .. }) => Err(ApiError::Declined(format!(
                "no answer to the confirmation request within {secs} s"
            ))),
            Err(ServiceError::Cancelled { .. }) => Err(ApiError::Cancelled),
            Err(e) => {
                tracing::warn!(error = %e, "elicitation request failed");
                Err(ApiError::Failed(format!(
                    "confirmation request failed: {e}"
                )))
            }
        }
    }
}

impl Confirmer for ElicitationConfirmer {
    fn confirm(&self, message: String) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.ask(message))
    }
}

/// The confirmer of one call as the runtime's trait object.
pub fn confirmer_for(
    peer: Option<&Peer<RoleServer>>,
    timeout: Duration,
    cancel: CancellationToken,
) -> Option<Arc<dyn Confirmer>> {
    let c = ElicitationConfirmer::for_peer(peer?, timeout, cancel)?;
    Some(Arc::new(c))
}
