//! Fault injection and state inspection: the in-process [`AdminHandle`] and its HTTP JSON
//! front-end (`tws-sim --admin-port P`).
//!
//! # HTTP API
//! All bodies are JSON; every POST answers `{"ok": true, ...}` or a 4xx with `{"error": "..."}`.
//!
//! | Method & path              | Body                                          | Effect |
//! |----------------------------|-----------------------------------------------|--------|
//! | `GET /state`               |                                               | server stats, connections, clients, subscriptions, orders, positions, accounts, clock |
//! | `GET /subscriptions`       |                                               | active subscriptions (`kind`, `client_id`, `req_id`, `detail`) and counts by kind |
//! | `GET /orders`              |                                               | every order the world knows |
//! | `GET /positions`           |                                               | positions of every account |
//! | `GET /accounts`            |                                               | account valuations |
//! | `GET /connections`         |                                               | live sockets (mode, version, client id, queue depth) |
//! | `POST /faults/drop-all`    |                                               | close every client connection (TWS crash) |
//! | `POST /faults/drop-client` | `{"client_id": 7}`                            | close one client's connection |
//! | `POST /faults/refuse`      | `{"seconds": 5}`                              | close the listener and all connections for N seconds (nightly restart) |
//! | `POST /faults/reset`       | `{"seconds": 5}`                              | close all connections; for N seconds reset each new one on accept (every attempt counted in `/state` stats) |
//! | `POST /faults/connectivity`| `{"code": 1100}`                              | broadcast 1100 / 1101 / 1102 |
//! | `POST /faults/farm`        | `{"code": 2103}`                              | broadcast 2103 / 2104 / 2105 / 2106 / 2107 / 2108 / 2157 / 2158 |
//! | `POST /faults/latency`     | `{"ms": 250}`                                 | delay every request's handling by N ms (0 = off) |
//! | `POST /faults/pacing`      | `{"enabled": false}`                          | toggle historical-data pacing (error 162) |
//! | `POST /clock`              | `{"speed": 60.0}` and/or `{"jump_to_ms": ..}` | simulated clock speed / jump forward |
//! | `POST /bulletin`           | `{"msg_type": 1, "message": "..", "origin_exchange": ""}` | publish a news bulletin |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{ClientId, Response};
use crate::server::{ConnectionInfo, ServerStats, Shared};
use crate::world::{AccountInfo, ClientInfo, OrderInfo, PositionInfo, SubscriptionInfo, World};

/// Errors of admin commands.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("unsupported code {0}")]
    BadCode(i32),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// In-process control of a running simulator. Cheap to clone.
#[derive(Clone)]
pub struct AdminHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AdminHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminHandle").finish_non_exhaustive()
    }
}

/// Snapshot of the whole simulator (what `GET /state` returns).
#[derive(Debug, Clone, Serialize)]
pub struct SimState {
    pub sim_time_ms: i64,
    pub clock_speed: f64,
    pub refusing: bool,
    pub latency_ms: u64,
    pub pacing: bool,
    pub stats: ServerStats,
    pub connections: Vec<ConnectionInfo>,
    pub clients: Vec<ClientInfo>,
    pub subscription_counts: std::collections::BTreeMap<String, usize>,
    pub subscriptions: Vec<SubscriptionInfo>,
    pub orders: Vec<OrderInfo>,
    pub positions: Vec<PositionInfo>,
    pub accounts: Vec<AccountInfo>,
}

/// Text TWS sends with each connectivity / farm code.
pub fn notice_text(code: i32) -> Option<&'static str> {
    Some(match code {
        1100 => "Connectivity between IB and Trader Workstation has been lost.",
        1101 => "Connectivity between IB and Trader Workstation has been restored - data lost.",
        1102 => {
            "Connectivity between IB and Trader Workstation has been restored - data maintained."
        }
        2103 => "Market data farm connection is broken:usfarm",
        2104 => "Market data farm connection is OK:usfarm",
        2105 => "HMDS data farm connection is broken:ushmds",
        2106 => "HMDS data farm connection is OK:ushmds",
        2107 => "HMDS data farm connection is inactive but should be available upon demand.ushmds",
        2108 => {
            "Market data farm connection is inactive but should be available upon demand.usfarm"
        }
        2157 => "Sec-def data farm connection is broken:secdefnj",
        2158 => "Sec-def data farm connection is OK:secdefnj",
        _ => return None,
    })
}

impl AdminHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Run `f` with the world locked (escape hatch for tests; keep it short).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.shared.world.lock())
    }

    /// Close every client connection at once (TWS crash / network cut). Returns how many.
    pub fn drop_all(&self) -> usize {
        self.shared.drop_all()
    }

    /// Close the connection of one client id; false if it is not connected.
    pub fn drop_client(&self, client_id: ClientId) -> bool {
        self.shared.drop_client(client_id)
    }

    /// Close the listener and every connection; connections are refused for `d`
    /// (IB Gateway's nightly restart). The same port is bound again afterwards.
    pub fn refuse_for(&self, d: Duration) {
        self.shared.refuse_for(d)
    }

    /// Close every connection; for `d` the listener stays open but resets each new connection
    /// as soon as it is accepted (a gateway that is up but turns API clients away). Unlike
    /// [`AdminHandle::refuse_for`] every attempt reaches the simulator: it is counted in
    /// [`ServerStats::refused`] and timestamped in [`ServerStats::connection_attempts`].
    pub fn reset_for(&self, d: Duration) {
        self.shared.reset_for(d)
    }

    /// Whether connections are currently being refused.
    pub fn refusing(&self) -> bool {
        self.shared.refusing()
    }

    /// Broadcast connectivity code 1100 (lost), 1101 (restored, data lost) or 1102 (restored,
    /// data kept) to every client.
    pub fn connectivity(&self, code: i32) -> Result<(), AdminError> {
        if !(1100..=1102).contains(&code) {
            return Err(AdminError::BadCode(code));
        }
        self.notice(code)
    }

    /// Broadcast a data-farm notice (2103 broken / 2104 OK / 2105 HMDS broken / 2106 HMDS OK,
    /// 2107, 2108, 2157, 2158).
    pub fn farm(&self, code: i32) -> Result<(), AdminError> {
        if !(2103..=2108).contains(&code) && code != 2157 && code != 2158 {
            return Err(AdminError::BadCode(code));
        }
        self.notice(code)
    }

    fn notice(&self, code: i32) -> Result<(), AdminError> {
        let text = notice_text(code).ok_or(AdminError::BadCode(code))?;
        let mut w = self.shared.world.lock();
        let time = w.now_ms();
        w.broadcast(Response::Error {
            id: -1,
            time,
            code,
            message: text.into(),
            advanced_order_reject_json: String::new(),
        });
        Ok(())
    }

    /// Delay the handling of every request by `d` (0 = off); streaming data is not delayed.
    pub fn set_latency(&self, d: Duration) {
        self.shared.set_latency(d)
    }

    pub fn latency(&self) -> Duration {
        self.shared.latency()
    }

    /// Enable or disable historical-data pacing enforcement (error 162).
    pub fn set_pacing(&self, enabled: bool) {
        self.shared.set_pacing(enabled)
    }

    pub fn pacing(&self) -> bool {
        self.shared.pacing()
    }

    /// Simulated seconds per real second.
    pub fn set_clock_speed(&self, speed: f64) -> Result<(), AdminError> {
        if !(speed.is_finite() && speed >= 0.0) {
            return Err(AdminError::Invalid(format!("clock speed {speed}")));
        }
        self.shared.world.lock().set_clock_speed(speed);
        Ok(())
    }

    /// Jump the simulated clock forward to `sim_ms` (epoch ms).
    pub fn jump_clock_to(&self, sim_ms: i64) {
        self.shared.world.lock().jump_to(sim_ms)
    }

    /// Current simulated time (epoch ms).
    pub fn sim_time_ms(&self) -> i64 {
        self.shared.world.lock().now_ms()
    }

    /// Publish a news bulletin (msg_type 1 regular, 2 exchange unavailable, 3 available);
    /// returns its id.
    pub fn bulletin(&self, msg_type: i32, message: &str, origin_exchange: &str) -> i32 {
        self.shared
            .world
            .lock()
            .inject_bulletin(msg_type, message, origin_exchange)
    }

    /// Send an arbitrary response to every attached client.
    pub fn broadcast(&self, resp: Response) {
        self.shared.world.lock().broadcast(resp)
    }

    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.shared.connections()
    }

    pub fn stats(&self) -> ServerStats {
        self.shared.stats()
    }

    pub fn clients(&self) -> Vec<ClientInfo> {
        self.shared.world.lock().clients()
    }

    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        self.shared.world.lock().subscriptions()
    }

    /// Active subscriptions of one kind (see [`SubscriptionInfo::kind`]).
    pub fn subscription_count(&self, kind: &str) -> usize {
        self.subscriptions()
            .iter()
            .filter(|s| s.kind == kind)
            .count()
    }

    pub fn orders(&self) -> Vec<OrderInfo> {
        self.shared.world.lock().orders()
    }

    pub fn positions(&self) -> Vec<PositionInfo> {
        self.shared.world.lock().positions()
    }

    pub fn accounts(&self) -> Vec<AccountInfo> {
        self.shared.world.lock().accounts()
    }

    /// Everything at once.
    pub fn state(&self) -> SimState {
        let (sim_time_ms, clock_speed, clients, subscriptions, orders, positions, accounts) = {
            let mut w = self.shared.world.lock();
            (
                w.now_ms(),
                w.clock_speed(),
                w.clients(),
                w.subscriptions(),
                w.orders(),
                w.positions(),
                w.accounts(),
            )
        };
        let mut subscription_counts = std::collections::BTreeMap::new();
        for s in &subscriptions {
            *subscription_counts.entry(s.kind.to_string()).or_insert(0) += 1;
        }
        SimState {
            sim_time_ms,
            clock_speed,
            refusing: self.refusing(),
            latency_ms: self.latency().as_millis() as u64,
            pacing: self.pacing(),
            stats: self.stats(),
            connections: self.connections(),
            clients,
            subscription_counts,
            subscriptions,
            orders,
            positions,
            accounts,
        }
    }
}

// ============================================================================ HTTP

struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> HttpResponse {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
struct Seconds {
    seconds: f64,
}
#[derive(Deserialize)]
struct Code {
    code: i32,
}
#[derive(Deserialize)]
struct Millis {
    ms: u64,
}
#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}
#[derive(Deserialize)]
struct ClientSel {
    client_id: ClientId,
}
#[derive(Deserialize)]
struct ClockReq {
    speed: Option<f64>,
    jump_to_ms: Option<i64>,
}
#[derive(Deserialize)]
struct BulletinReq {
    #[serde(default = "one")]
    msg_type: i32,
    message: String,
    #[serde(default)]
    origin_exchange: String,
}
fn one() -> i32 {
    1
}

fn ok(extra: Value) -> ApiResult {
    let mut v = json!({ "ok": true });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    Ok(Json(v))
}

fn to_json<T: Serialize>(v: &T) -> ApiResult {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// The admin HTTP router (mount it anywhere; `tws-sim --admin-port` serves it at `/`).
pub fn router(admin: AdminHandle) -> Router {
    Router::new()
        .route("/state", get(|State(a): State<AdminHandle>| async move { to_json(&a.state()) }))
        .route(
            "/subscriptions",
            get(|State(a): State<AdminHandle>| async move {
                let subs = a.subscriptions();
                let mut counts = std::collections::BTreeMap::<String, usize>::new();
                for s in &subs {
                    *counts.entry(s.kind.to_string()).or_default() += 1;
                }
                to_json(&json!({ "counts": counts, "subscriptions": subs }))
            }),
        )
        .route("/orders", get(|State(a): State<AdminHandle>| async move { to_json(&a.orders()) }))
        .route(
            "/positions",
            get(|State(a): State<AdminHandle>| async move { to_json(&a.positions()) }),
        )
        .route(
            "/accounts",
            get(|State(a): State<AdminHandle>| async move { to_json(&a.accounts()) }),
        )
        .route(
            "/connections",
            get(|State(a): State<AdminHandle>| async move { to_json(&a.connections()) }),
        )
        .route(
            "/faults/drop-all",
            post(|State(a): State<AdminHandle>| async move { ok(json!({ "dropped": a.drop_all() })) }),
        )
        .route(
            "/faults/drop-client",
            post(|State(a): State<AdminHandle>, Json(b): Json<ClientSel>| async move {
                ok(json!({ "dropped": a.drop_client(b.client_id) }))
            }),
        )
        .route(
            "/faults/refuse",
            post(|State(a): State<AdminHandle>, Json(b): Json<Seconds>| async move {
                if !(b.seconds.is_finite() && b.seconds >= 0.0 && b.seconds <= 86_400.0) {
                    return Err(AdminError::Invalid(format!("seconds {}", b.seconds)).into());
                }
                a.refuse_for(Duration::from_secs_f64(b.seconds));
                ok(json!({}))
            }),
        )
        .route(
            "/faults/reset",
            post(|State(a): State<AdminHandle>, Json(b): Json<Seconds>| async move {
                if !(b.seconds.is_finite() && b.seconds >= 0.0 && b.seconds <= 86_400.0) {
                    return Err(AdminError::Invalid(format!("seconds {}", b.seconds)).into());
                }
                a.reset_for(Duration::from_secs_f64(b.seconds));
                ok(json!({}))
            }),
        )
        .route(
            "/faults/connectivity",
            post(|State(a): State<AdminHandle>, Json(b): Json<Code>| async move {
                a.connectivity(b.code)?;
                ok(json!({}))
            }),
        )
        .route(
            "/faults/farm",
            post(|State(a): State<AdminHandle>, Json(b): Json<Code>| async move {
                a.farm(b.code)?;
                ok(json!({}))
            }),
        )
        .route(
            "/faults/latency",
            post(|State(a): State<AdminHandle>, Json(b): Json<Millis>| async move {
                a.set_latency(Duration::from_millis(b.ms));
                ok(json!({}))
            }),
        )
        .route(
            "/faults/pacing",
            post(|State(a): State<AdminHandle>, Json(b): Json<Enabled>| async move {
                a.set_pacing(b.enabled);
                ok(json!({}))
            }),
        )
        .route(
            "/clock",
            post(|State(a): State<AdminHandle>, Json(b): Json<ClockReq>| async move {
                if let Some(s) = b.speed {
                    a.set_clock_speed(s)?;
                }
                if let Some(t) = b.jump_to_ms {
                    a.jump_clock_to(t);
                }
                ok(json!({ "sim_time_ms": a.sim_time_ms() }))
            }),
        )
        .route(
            "/bulletin",
            post(|State(a): State<AdminHandle>, Json(b): Json<BulletinReq>| async move {
                let id = a.bulletin(b.msg_type, &b.message, &b.origin_exchange);
                ok(json!({ "msg_id": id }))
            }),
        )
        .with_state(admin)
}

/// Serve the admin API on `listener` until `shutdown` fires.
pub(crate) async fn serve_http(
    admin: AdminHandle,
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "admin HTTP API listening");
    if let Err(e) = axum::serve(listener, router(admin))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::warn!(error = %e, "admin HTTP server failed");
    }
}
