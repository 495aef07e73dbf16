//! `tws-sim` — the paper gateway: a TWS API simulator that speaks the real socket protocol.
//!
//! Module map:
//! - [`api`]: the protocol-neutral request/response model shared by both codecs and the world.
//! - `proto`: protobuf codec (server versions 213..=226, for `ibapi` 5.x).
//! - `text`: classic text codec (server versions up to 178, for `ib_async`).
//! - `wire`: framing, handshake and version negotiation.
//! - `server`: TCP listener, one task per connection, client-id registry.
//! - [`world`]: instruments, prices, accounts, orders — all simulated state.
//! - `admin`: fault injection and state inspection (in-process handle and HTTP).

pub mod api;
pub mod proto;
pub mod wire;
pub mod world;
