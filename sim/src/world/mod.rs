//! The simulated world: instruments, market prices, accounts and order matching.
//!
//! Protocol-agnostic: it consumes [`Request`]s from connected clients and pushes [`Response`]s
//! into each client's [`Outbox`]. The server (`crate::server`) owns sockets and codecs; the world
//! owns all state. It lives behind one `parking_lot::Mutex` shared by every connection task and
//! by the market ticker task, which calls [`World::advance`] periodically.
//!
//! INTERFACE STUB written by the lead so the server and codecs compile; the world helper replaces
//! the body (keeping these signatures, or changing them together with `server.rs`).

use crate::api::{ClientId, Request, Response};
use tokio::sync::mpsc;

/// Queue of responses for one connected client. Bounded: a client that stops reading is
/// disconnected when its queue overflows instead of growing memory without bound.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Response>,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Response>) -> Self {
        Self { tx }
    }
    /// Queue a response; returns false when the client is gone or its queue is full.
    pub fn send(&self, resp: Response) -> bool {
        self.tx.try_send(resp).is_ok()
    }
}

/// Why a client could not attach.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("client id {0} is already in use")]
    ClientIdInUse(ClientId),
}

pub struct World {
    clients: std::collections::HashMap<ClientId, Outbox>,
    next_order_id: i32,
    accounts: Vec<String>,
}

impl Default for World {
    fn default() -> Self {
        Self {
            clients: Default::default(),
            next_order_id: 1,
            accounts: vec!["DU1234567".into()],
        }
    }
}

impl World {
    /// Register a client after startApi; sends managedAccounts and nextValidId (and farm notices).
    pub fn attach(&mut self, client_id: ClientId, outbox: Outbox) -> Result<(), AttachError> {
        if self.clients.contains_key(&client_id) {
            return Err(AttachError::ClientIdInUse(client_id));
        }
        outbox.send(Response::ManagedAccounts {
            accounts: self.accounts.clone(),
        });
        outbox.send(Response::NextValidId {
            order_id: self.next_order_id,
        });
        self.clients.insert(client_id, outbox);
        Ok(())
    }

    /// Forget a client and all of its subscriptions.
    pub fn detach(&mut self, client_id: ClientId) {
        self.clients.remove(&client_id);
    }

    /// Handle one request from an attached client.
    pub fn handle(&mut self, client_id: ClientId, req: Request) {
        let _ = (client_id, req);
    }

    /// Advance simulated time to `now_ms` (sim clock epoch millis) and emit streaming data.
    pub fn advance(&mut self, now_ms: i64) {
        let _ = now_ms;
    }
}
