//! TCP server: accept loop, one task pair per connection (reader + writer), the market ticker,
//! the slow-consumer watchdog and the fault switches.
//!
//! Per connection:
//! - handshake (`API\0` + version frame, answered with the text handshake frame) under a read
//!   timeout; unsupported versions or garbage are closed without an answer;
//! - the first message must be startApi; a client id already in use gets error 326 and a close;
//! - a reader task decodes frames and hands requests, in order, to a dispatcher that applies the
//!   injected latency and the historical-data pacing rules before calling [`World::handle`];
//! - a writer task drains the bounded outbound queue, batching frames into few `write` calls.
//!
//! The [`World`] lives behind one `parking_lot::Mutex`; every lock is short (one request, one
//! `advance`). Nothing here panics on client input: framing errors close the connection,
//! decoding errors are answered with TWS error 505 (or 507 for a bad length).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::api::{ClientId, Request, Response, errors};
use crate::wire::{self, Codec, DecodeError, MAX_FRAME, Mode};
use crate::world::{AttachError, Outbox, World};

/// Tunables of the network side (the world has its own config).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Real-time interval between `World::advance` calls.
    pub tick_interval: Duration,
    /// Capacity (messages) of each connection's outbound queue; a client whose queue fills up
    /// is disconnected as a slow consumer.
    pub outbox_capacity: usize,
    /// Time allowed for the handshake and the startApi message.
    pub handshake_timeout: Duration,
    /// Enforce IB's historical-data pacing rules (error 162).
    pub pacing: bool,
    /// A write that makes no progress for this long disconnects the client.
    pub write_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            tick_interval: Duration::from_millis(10),
            outbox_capacity: 65_536,
            handshake_timeout: Duration::from_secs(10),
            pacing: true,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// One live connection, as seen by the admin interface.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    pub conn_id: u64,
    pub peer: String,
    /// "proto" or "text"; empty until the handshake completed.
    pub mode: &'static str,
    pub server_version: i32,
    /// Set once startApi was accepted.
    pub client_id: Option<ClientId>,
    pub connected_secs: f64,
    /// Messages waiting in the outbound queue.
    pub queued: usize,
}

/// Server counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerStats {
    pub accepted: u64,
    pub refused: u64,
    pub handshake_failures: u64,
    pub client_id_in_use: u64,
    pub decode_errors: u64,
    pub slow_consumer_drops: u64,
    pub pacing_violations: u64,
    /// Live server tasks (accept loop, ticker, admin HTTP, and per connection up to 4):
    /// should fall back to the baseline once clients leave.
    pub tasks: usize,
    /// The most recent connection attempts the listener saw (accepted, or reset while
    /// refusing), oldest first, at most [`MAX_ATTEMPTS_KEPT`]. Attempts made while the listener
    /// is closed ([`AdminHandle::refuse_for`](crate::AdminHandle::refuse_for)) never reach the
    /// simulator and are not here.
    pub connection_attempts: Vec<ConnectionAttempt>,
}

/// How many connection attempts [`ServerStats::connection_attempts`] keeps.
pub const MAX_ATTEMPTS_KEPT: usize = 256;

/// One connection attempt seen by the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnectionAttempt {
    /// Milliseconds since the simulator started (monotonic clock).
    pub at_ms: u64,
    /// True when the connection was reset at once because the simulator was refusing.
    pub refused: bool,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    handshake_failures: AtomicU64,
    client_id_in_use: AtomicU64,
    decode_errors: AtomicU64,
    slow_consumer_drops: AtomicU64,
    pacing_violations: AtomicU64,
}

struct ConnEntry {
    peer: SocketAddr,
    mode: &'static str,
    server_version: i32,
    client_id: Option<ClientId>,
    since: Instant,
    token: CancellationToken,
    tx: Option<mpsc::Sender<Response>>,
}

/// State shared by the accept loop, the connections, the ticker and the admin interface.
pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    pub(crate) opts: ServerOptions,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    conns: Mutex<HashMap<u64, ConnEntry>>,
    next_conn: AtomicU64,
    latency_ms: AtomicU64,
    pacing: AtomicBool,
    pacer: Mutex<Pacer>,
    refuse_until: Mutex<Option<Instant>>,
    /// While refusing: keep the listener and reset each connection (true), or close the
    /// listener so the kernel refuses (false).
    refuse_by_reset: AtomicBool,
    refuse_notify: Notify,
    counters: Counters,
    started: Instant,
    attempts: Mutex<VecDeque<ConnectionAttempt>>,
}

impl Shared {
    pub(crate) fn new(world: World, opts: ServerOptions) -> Arc<Self> {
        Arc::new(Self {
            world: Mutex::new(world),
            pacing: AtomicBool::new(opts.pacing),
            opts,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            latency_ms: AtomicU64::new(0),
            pacer: Mutex::new(Pacer::default()),
            refuse_until: Mutex::new(None),
            refuse_by_reset: AtomicBool::new(false),
            refuse_notify: Notify::new(),
            counters: Counters::default(),
            started: Instant::now(),
            attempts: Mutex::new(VecDeque::new()),
        })
    }

    /// Disconnect every client (like a TWS crash); returns how many were dropped.
    pub(crate) fn drop_all(&self) -> usize {
        let conns = self.conns.lock();
        for c in conns.values() {
            c.token.cancel();
        }
        conns.len()
    }

    /// Disconnect the connection(s) of one client id.
    pub(crate) fn drop_client(&self, client_id: ClientId) -> bool {
        let conns = self.conns.lock();
        let mut found = false;
        for c in conns.values().filter(|c| c.client_id == Some(client_id)) {
            c.token.cancel();
            found = true;
        }
        found
    }

    /// Close the listening socket and every connection for `d` (nightly restart).
    pub(crate) fn refuse_for(&self, d: Duration) {
        self.refuse_by_reset.store(false, Ordering::Relaxed);
        *self.refuse_until.lock() = Some(Instant::now() + d);
        self.drop_all();
        self.refuse_notify.notify_one();
    }

    /// Close every connection and, for `d`, reset each new one as soon as it is accepted
    /// (the listener stays open, so every attempt is seen and recorded).
    pub(crate) fn reset_for(&self, d: Duration) {
        self.refuse_by_reset.store(true, Ordering::Relaxed);
        *self.refuse_until.lock() = Some(Instant::now() + d);
        self.drop_all();
        self.refuse_notify.notify_one();
    }

    fn record_attempt(&self, refused: bool) {
        let at_ms = self.started.elapsed().as_millis().min(u64::MAX as u128) as u64;
        let mut a = self.attempts.lock();
        if a.len() == MAX_ATTEMPTS_KEPT {
            a.pop_front();
        }
        a.push_back(ConnectionAttempt { at_ms, refused });
    }

    pub(crate) fn refusing(&self) -> bool {
        self.refuse_until.lock().is_some_and(|t| t > Instant::now())
    }

    pub(crate) fn set_latency(&self, d: Duration) {
        self.latency_ms.store(
            d.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn set_pacing(&self, on: bool) {
        self.pacing.store(on, Ordering::Relaxed);
        if !on {
            *self.pacer.lock() = Pacer::default();
        }
    }

    pub(crate) fn pacing(&self) -> bool {
        self.pacing.load(Ordering::Relaxed)
    }

    pub(crate) fn connections(&self) -> Vec<ConnectionInfo> {
        let conns = self.conns.lock();
        let mut v: Vec<_> = conns
            .iter()
            .map(|(id, c)| ConnectionInfo {
                conn_id: *id,
                peer: c.peer.to_string(),
                mode: c.mode,
                server_version: c.server_version,
                client_id: c.client_id,
                connected_secs: c.since.elapsed().as_secs_f64(),
                queued: c
                    .tx
                    .as_ref()
                    .map(|t| t.max_capacity() - t.capacity())
                    .unwrap_or(0),
            })
            .collect();
        v.sort_by_key(|c| c.conn_id);
        v
    }

    pub(crate) fn stats(&self) -> ServerStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            accepted: l(&c.accepted),
            refused: l(&c.refused),
            handshake_failures: l(&c.handshake_failures),
            client_id_in_use: l(&c.client_id_in_use),
            decode_errors: l(&c.decode_errors),
            slow_consumer_drops: l(&c.slow_consumer_drops),
            pacing_violations: l(&c.pacing_violations),
            tasks: self.tracker.len(),
            connection_attempts: self.attempts.lock().iter().copied().collect(),
        }
    }

    /// Disconnect clients whose outbound queue is full (they stopped reading).
    fn watchdog(&self) {
        let conns = self.conns.lock();
        for (id, c) in conns.iter() {
            if let Some(tx) = &c.tx
                && tx.capacity() == 0
                && !c.token.is_cancelled()
            {
                warn!(conn = id, client_id = ?c.client_id, "slow consumer: outbound queue full, disconnecting");
                self.counters
                    .slow_consumer_drops
                    .fetch_add(1, Ordering::Relaxed);
                c.token.cancel();
            }
        }
    }
}

/// Wall-clock epoch milliseconds.
pub(crate) fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

// ============================================================================ accept loop

/// Run the accept loop on `listener` until shutdown. Re-binds `addr` after a refuse period.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, addr: SocketAddr) {
    let mut listener = Some(listener);
    loop {
        let Some(l) = listener.as_ref() else {
            // Refusing with the listener closed: wait out the period (or a switch to
            // reset-on-accept), then re-bind the same address.
            if !shared.refuse_by_reset.load(Ordering::Relaxed) {
                let until = shared.refuse_until.lock().unwrap_or_else(Instant::now);
                tokio::select! {
                    _ = shared.shutdown.cancelled() => return,
                    _ = tokio::time::sleep_until(until.into()) => {}
                    _ = shared.refuse_notify.notified() => continue,
                }
                if shared.refusing() && !shared.refuse_by_reset.load(Ordering::Relaxed) {
                    continue;
                }
            }
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    info!(%addr, "accepting connections again");
                    listener = Some(l);
                }
                Err(e) => {
                    warn!(%addr, error = %e, "re-bind failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            continue;
        };
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = shared.refuse_notify.notified() => {
                if shared.refusing() {
                    if shared.refuse_by_reset.load(Ordering::Relaxed) {
                        info!(%addr, "refusing connections (reset on accept)");
                    } else {
                        info!(%addr, "refusing connections (listener closed)");
                        listener = None;
                    }
                }
            }
            r = l.accept() => match r {
                Ok((stream, peer)) => {
                    if shared.refusing() {
                        shared.counters.refused.fetch_add(1, Ordering::Relaxed);
                        shared.record_attempt(true);
                        // RST instead of FIN: the peer sees a refused connection.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    }
                    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
                    shared.record_attempt(false);
                    let sh = shared.clone();
                    shared.tracker.spawn(async move { connection(sh, stream, peer).await });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Periodically advance the world and police slow consumers.
pub(crate) async fn ticker(shared: Arc<Shared>) {
    let mut iv = tokio::time::interval(shared.opts.tick_interval.max(Duration::from_micros(100)));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = iv.tick() => {
                let now = epoch_ms();
                guarded("advance", || shared.world.lock().advance(now));
                shared.watchdog();
            }
        }
    }
}

// ============================================================================ connection

/// Removes the connection from the registry and the client from the world when dropped.
struct ConnGuard {
    shared: Arc<Shared>,
    conn_id: u64,
    client_id: Option<ClientId>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.conns.lock().remove(&self.conn_id);
        if let Some(cid) = self.client_id {
            self.shared.world.lock().detach(cid);
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("bad prefix")]
    BadPrefix,
    #[error("bad version frame")]
    BadVersion,
    #[error("codec unavailable for {0:?}")]
    NoCodec(Mode),
}

async fn read_frame<R: AsyncReadExt + Unpin>(r: &mut R, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLong(len));
    }
    // Grow the buffer as bytes arrive: a peer announcing a 16 MiB frame and sending nothing
    // must not cost 16 MiB per connection.
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    (&mut *r).take(len as u64).read_to_end(&mut body).await?;
    if body.len() < len {
        return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(body)
}

#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the limit")]
    TooLong(usize),
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let token = shared.shutdown.child_token();
    shared.conns.lock().insert(
        conn_id,
        ConnEntry {
            peer,
            mode: "",
            server_version: 0,
            client_id: None,
            since: Instant::now(),
            token: token.clone(),
            tx: None,
        },
    );
    let mut guard = ConnGuard {
        shared: shared.clone(),
        conn_id,
        client_id: None,
    };
    tokio::select! {
        _ = token.cancelled() => debug!(conn = conn_id, "connection cancelled"),
        r = serve(&shared, stream, peer, conn_id, &token, &mut guard) => {
            if let Err(e) = r {
                debug!(conn = conn_id, %peer, error = %e, "connection ended");
            }
        }
    }
    token.cancel();
}

async fn serve(
    shared: &Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    conn_id: u64,
    token: &CancellationToken,
    guard: &mut ConnGuard,
) -> Result<(), HandshakeError> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);

    // --- handshake
    let hs = tokio::time::timeout(shared.opts.handshake_timeout, async {
        let mut prefix = [0u8; 4];
        rd.read_exact(&mut prefix).await?;
        if &prefix != wire::API_PREFIX {
            return Err(HandshakeError::BadPrefix);
        }
        let frame = read_frame(&mut rd, 4096).await.map_err(|e| match e {
            FrameError::Io(e) => HandshakeError::Io(e),
            FrameError::TooLong(_) => HandshakeError::BadVersion,
        })?;
        wire::negotiate(&frame).ok_or(HandshakeError::BadVersion)
    })
    .await;
    let negotiated = match hs {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            shared
                .counters
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        Err(_) => {
            shared
                .counters
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            return Err(HandshakeError::Timeout);
        }
    };
    let sim_now = shared.world.lock().now_ms();
    let mut out = Vec::with_capacity(64);
    wire::handshake_reply(
        negotiated.server_version,
        &wire::format_tws_time(sim_now.div_euclid(1000)),
        &mut out,
    );
    wr.write_all(&out).await?;
    let Some(mut codec) = wire::make_codec(negotiated) else {
        return Err(HandshakeError::NoCodec(negotiated.mode));
    };
    let mode = match negotiated.mode {
        Mode::Proto => "proto",
        Mode::Text => "text",
    };
    if let Some(c) = shared.conns.lock().get_mut(&conn_id) {
        c.mode = mode;
        c.server_version = negotiated.server_version;
    }

    // --- startApi
    let first = tokio::time::timeout(
        shared.opts.handshake_timeout,
        read_frame(&mut rd, MAX_FRAME),
    )
    .await
    .map_err(|_| HandshakeError::Timeout)?
    .map_err(|e| match e {
        FrameError::Io(e) => HandshakeError::Io(e),
        FrameError::TooLong(_) => HandshakeError::BadVersion,
    })?;
    let client_id = match codec.decode(&first) {
        Ok(Request::StartApi { client_id, .. }) => client_id,
        other => {
            debug!(
                conn = conn_id,
                ?other,
                "first message is not startApi; closing"
            );
            shared
                .counters
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            let id = match other {
                Ok(_) => 0,
                Err(DecodeError::UnknownMessage(id)) => id,
                Err(_) => 0,
            };
            let mut out = Vec::new();
            codec.encode(
                &DecodeError::NotStarted(id).to_error_response(sim_now),
                &mut out,
            );
            let _ = wr.write_all(&out).await;
            return Ok(());
        }
    };

    let (tx, rx) = mpsc::channel::<Response>(shared.opts.outbox_capacity.max(16));
    let attach = shared
        .world
        .lock()
        .attach(client_id, Outbox::new(tx.clone()));
    if let Err(AttachError::ClientIdInUse(_)) = attach {
        shared
            .counters
            .client_id_in_use
            .fetch_add(1, Ordering::Relaxed);
        info!(
            conn = conn_id,
            client_id, "client id already in use; closing"
        );
        let mut out = Vec::new();
        codec.encode(
            &Response::Error {
                id: -1,
                time: sim_now,
                code: errors::CLIENT_ID_IN_USE,
                message: "Unable to connect as the client id is already in use. Retry with a unique client id.".into(),
                advanced_order_reject_json: String::new(),
            },
            &mut out,
        );
        let _ = wr.write_all(&out).await;
        let _ = wr.shutdown().await;
        return Ok(());
    }
    guard.client_id = Some(client_id);
    if let Some(c) = shared.conns.lock().get_mut(&conn_id) {
        c.client_id = Some(client_id);
        c.tx = Some(tx.clone());
    }
    debug!(conn = conn_id, %peer, client_id, mode, "client attached");

    let codec: Arc<Mutex<Box<dyn Codec>>> = Arc::new(Mutex::new(codec));

    // --- writer
    let writer = {
        let codec = codec.clone();
        let token = token.clone();
        let write_timeout = shared.opts.write_timeout;
        shared.tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = writer(rx, wr, codec, write_timeout) => {}
            }
            token.cancel();
        })
    };

    // --- dispatcher (ordered, latency-aware hand-off to the world)
    let (dtx, drx) = mpsc::channel::<(Instant, Request)>(1024);
    let dispatcher = {
        let shared = shared.clone();
        let tx = tx.clone();
        shared
            .tracker
            .clone()
            .spawn(async move { dispatcher(shared, client_id, drx, tx).await })
    };

    // --- reader
    let result = reader(shared, &mut rd, &codec, &dtx, &tx).await;
    drop(dtx);
    let _ = dispatcher.await;
    token.cancel();
    let _ = writer.await;
    result
}

async fn reader<R: AsyncReadExt + Unpin>(
    shared: &Arc<Shared>,
    rd: &mut R,
    codec: &Arc<Mutex<Box<dyn Codec>>>,
    dtx: &mpsc::Sender<(Instant, Request)>,
    tx: &mpsc::Sender<Response>,
) -> Result<(), HandshakeError> {
    loop {
        let frame = match read_frame(rd, MAX_FRAME).await {
            Ok(f) => f,
            Err(FrameError::Io(e)) => return Err(e.into()),
            Err(FrameError::TooLong(n)) => {
                warn!(len = n, "oversized frame; closing connection");
                shared
                    .counters
                    .decode_errors
                    .fetch_add(1, Ordering::Relaxed);
                let now = shared.world.lock().now_ms();
                let _ = tx.try_send(Response::Error {
                    id: -1,
                    time: now,
                    code: errors::BAD_LENGTH,
                    message: format!("Bad Message Length {n}"),
                    advanced_order_reject_json: String::new(),
                });
                // Give the writer a moment to flush the error before the socket closes.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Ok(());
            }
        };
        let decoded = codec.lock().decode(&frame);
        match decoded {
            Ok(req) => {
                if dtx.send((Instant::now(), req)).await.is_err() {
                    return Ok(());
                }
            }
            Err(e) => {
                debug!(error = %e, "undecodable message");
                shared
                    .counters
                    .decode_errors
                    .fetch_add(1, Ordering::Relaxed);
                let now = shared.world.lock().now_ms();
                let _ = tx.try_send(e.to_error_response(now));
                if e.is_fatal() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return Ok(());
                }
            }
        }
    }
}

async fn dispatcher(
    shared: Arc<Shared>,
    client_id: ClientId,
    mut drx: mpsc::Receiver<(Instant, Request)>,
    tx: mpsc::Sender<Response>,
) {
    while let Some((at, req)) = drx.recv().await {
        let latency = shared.latency();
        if !latency.is_zero() {
            tokio::time::sleep_until((at + latency).into()).await;
        }
        match req {
            Request::StartApi { .. } => debug!(client_id, "ignoring repeated startApi"),
            Request::ReqHistoricalData {
                req_id,
                ref contract,
                ref end_date_time,
                ref bar_size,
                ref duration,
                use_rth,
                ref what_to_show,
                ..
            } if shared.pacing() => {
                let key = format!(
                    "{}|{}|{}|{}|{}|{}|{}|{}|{}",
                    contract.con_id,
                    contract.symbol,
                    contract.sec_type,
                    contract.exchange,
                    end_date_time,
                    bar_size,
                    duration,
                    use_rth,
                    what_to_show
                );
                let contract_key = format!(
                    "{}|{}|{}|{}|{}",
                    contract.con_id,
                    contract.symbol,
                    contract.sec_type,
                    contract.exchange,
                    what_to_show
                );
                let verdict = shared.pacer.lock().check(
                    Instant::now(),
                    small_bar(bar_size),
                    &key,
                    &contract_key,
                );
                if let Err(why) = verdict {
                    shared
                        .counters
                        .pacing_violations
                        .fetch_add(1, Ordering::Relaxed);
                    debug!(client_id, req_id, why, "historical data pacing violation");
                    let now = shared.world.lock().now_ms();
                    let _ = tx.try_send(Response::Error {
                        id: req_id,
                        time: now,
                        code: errors::HISTORICAL_DATA_ERROR,
                        message: "Historical Market Data Service error message:Pacing violation"
                            .into(),
                        advanced_order_reject_json: String::new(),
                    });
                } else {
                    handle_guarded(&shared, client_id, req, &tx);
                }
            }
            Request::ReqHistoricalTicks {
                req_id,
                ref contract,
                ref start_date_time,
                ref end_date_time,
                number_of_ticks,
                ref what_to_show,
                use_rth,
                ..
            } if shared.pacing() => {
                // Historical ticks count against the same limits as small bars.
                let contract_key = format!(
                    "{}|{}|{}|{}|{}",
                    contract.con_id,
                    contract.symbol,
                    contract.sec_type,
                    contract.exchange,
                    what_to_show
                );
                let key = format!(
                    "ticks|{contract_key}|{start_date_time}|{end_date_time}|{number_of_ticks}|{use_rth}"
                );
                let verdict = shared
                    .pacer
                    .lock()
                    .check(Instant::now(), true, &key, &contract_key);
                if let Err(why) = verdict {
                    shared
                        .counters
                        .pacing_violations
                        .fetch_add(1, Ordering::Relaxed);
                    debug!(client_id, req_id, why, "historical ticks pacing violation");
                    let now = shared.world.lock().now_ms();
                    let _ = tx.try_send(Response::Error {
                        id: req_id,
                        time: now,
                        code: errors::HISTORICAL_DATA_ERROR,
                        message: "Historical Market Data Service error message:Pacing violation"
                            .into(),
                        advanced_order_reject_json: String::new(),
                    });
                } else {
                    handle_guarded(&shared, client_id, req, &tx);
                }
            }
            req => handle_guarded(&shared, client_id, req, &tx),
        }
    }
}

/// Run `f`, turning a panic (a bug in the world) into a log line so that one bad request or
/// tick cannot take the server down. Returns false if `f` panicked.
fn guarded(what: &str, f: impl FnOnce()) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(what, panic = %msg, "world panicked; continuing");
            false
        }
    }
}

/// Hand one request to the world; a panic is reported to the client as error 505 (id -1).
fn handle_guarded(shared: &Shared, client_id: ClientId, req: Request, tx: &mpsc::Sender<Response>) {
    let desc = format!("{req:?}");
    if !guarded("handle", || shared.world.lock().handle(client_id, req)) {
        let now = shared.world.lock().now_ms();
        let _ = tx.try_send(Response::Error {
            id: -1,
            time: now,
            code: errors::BAD_MESSAGE,
            message: format!(
                "Internal error handling request: {}",
                desc.chars().take(120).collect::<String>()
            ),
            advanced_order_reject_json: String::new(),
        });
    }
}

async fn writer(
    mut rx: mpsc::Receiver<Response>,
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    codec: Arc<Mutex<Box<dyn Codec>>>,
    write_timeout: Duration,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut batch: Vec<Response> = Vec::with_capacity(256);
    loop {
        let n = rx.recv_many(&mut batch, 512).await;
        if n == 0 {
            break;
        }
        {
            let codec = codec.lock();
            for r in batch.drain(..) {
                codec.encode(&r, &mut buf);
            }
        }
        match tokio::time::timeout(write_timeout, wr.write_all(&buf)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(error = %e, "write failed");
                break;
            }
            Err(_) => {
                warn!("write timed out; disconnecting slow consumer");
                break;
            }
        }
        if buf.capacity() > 4 * 1024 * 1024 {
            buf = Vec::with_capacity(64 * 1024);
        } else {
            buf.clear();
        }
    }
    let _ = wr.shutdown().await;
}

// ============================================================================ pacing

/// IB's historical-data pacing rules (enforced for bars of 30 seconds or less, as IB does):
/// - no identical request within 15 seconds;
/// - no more than 6 requests for the same contract/exchange/tick type within 2 seconds;
/// - no more than 60 requests within any 10 minutes.
#[derive(Default)]
pub(crate) struct Pacer {
    all: VecDeque<Instant>,
    identical: HashMap<String, Instant>,
    per_contract: HashMap<String, VecDeque<Instant>>,
}

impl Pacer {
    fn check(
        &mut self,
        now: Instant,
        small_bars: bool,
        key: &str,
        contract_key: &str,
    ) -> Result<(), &'static str> {
        if !small_bars {
            return Ok(());
        }
        let ten_min = Duration::from_secs(600);
        while self
            .all
            .front()
            .is_some_and(|t| now.duration_since(*t) > ten_min)
        {
            self.all.pop_front();
        }
        self.identical
            .retain(|_, t| now.duration_since(*t) < Duration::from_secs(15));
        self.per_contract.retain(|_, q| {
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(2))
            {
                q.pop_front();
            }
            !q.is_empty()
        });
        if self.identical.contains_key(key) {
            return Err("identical request within 15 seconds");
        }
        if self
            .per_contract
            .get(contract_key)
            .is_some_and(|q| q.len() >= 6)
        {
            return Err("six or more requests for the same contract within 2 seconds");
        }
        if self.all.len() >= 60 {
            return Err("more than 60 requests within 10 minutes");
        }
        self.all.push_back(now);
        self.identical.insert(key.to_string(), now);
        self.per_contract
            .entry(contract_key.to_string())
            .or_default()
            .push_back(now);
        Ok(())
    }
}

/// Bar sizes of 30 seconds or less ("1 secs", "5 secs", "10 secs", "15 secs", "30 secs").
fn small_bar(bar_size: &str) -> bool {
    let b = bar_size.trim().to_ascii_lowercase();
    let mut it = b.split_whitespace();
    let (Some(n), Some(unit)) = (it.next(), it.next()) else {
        return false;
    };
    unit.starts_with("sec") && n.parse::<u32>().is_ok_and(|n| n <= 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_rules() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        assert!(p.check(t0, true, "a", "c").is_ok());
        assert!(p.check(t0, true, "a", "c").is_err(), "identical");
        assert!(
            p.check(t0, false, "a", "c").is_ok(),
            "large bars are not paced"
        );
        for i in 0..5 {
            assert!(p.check(t0, true, &format!("b{i}"), "c").is_ok());
        }
        assert!(
            p.check(t0, true, "b9", "c").is_err(),
            "6 per contract in 2 s"
        );
        let t1 = t0 + Duration::from_secs(3);
        for i in 0..54 {
            assert!(
                p.check(t1, true, &format!("x{i}"), &format!("k{i}"))
                    .is_ok()
            );
        }
        assert!(p.check(t1, true, "y", "y").is_err(), "60 per 10 minutes");
        assert!(small_bar("30 secs") && small_bar("1 secs") && !small_bar("1 min"));
    }
}
