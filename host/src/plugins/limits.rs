//! Engine configuration and per-call sandbox limits, in one small module.
//!
//! Every plugin call runs in a fresh `Store` bounded by [`Limits`]: linear memory, table
//! elements and instances ([`CallLimiter`]), a wall-clock deadline enforced with epoch
//! interruption (the [`EpochTicker`] advances the engine epoch every [`EPOCH_TICK`]), a
//! budget of host calls, and a maximum output size checked by the runtime.
//!
//! Time spent waiting for the user's answer to a confirmation (`host::confirm`) does not
//! count against the deadline: the [`CallClock`] pauses while the host waits and extends
//! the deadline by the pause. The wait itself is bounded by its own per-call budget
//! ([`Limits::confirm_timeout_ms`]), so a plugin cannot stall a call forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often the epoch ticker advances the engine epoch.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-call limits. Every field has a safe default; operators override them per plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Maximum linear memory of the plugin instance, in MiB.
    pub memory_mib: u32,
    /// Wall-clock deadline of one call (prompt rendering or workflow run), in milliseconds.
    pub timeout_ms: u64,
    /// Maximum size of a call's output (workflow JSON, rendered prompt), in KiB.
    pub max_output_kib: u32,
    /// Maximum number of host calls (broker, log, progress, ...) in one call.
    pub max_host_calls: u32,
    /// Maximum bytes of guest stdout/stderr captured (and logged) per call.
    pub max_stdio_kib: u32,
    /// Total time one call may wait for the user's answers to confirmations, in
    /// milliseconds. This wait is not counted against `timeout_ms`; when it runs out,
    /// `host::confirm` answers `declined`.
    pub confirm_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            timeout_ms: 30_000,
            max_output_kib: 1024,
            max_host_calls: 2_000,
            max_stdio_kib: 64,
            confirm_timeout_ms: 120_000,
        }
    }
}

/// Upper bounds operators cannot exceed even in configuration.
pub const MAX_MEMORY_MIB: u32 = 4096;
/// Longest allowed deadline (10 minutes).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// Longest allowed confirmation wait of one call (10 minutes).
pub const MAX_CONFIRM_TIMEOUT_MS: u64 = 600_000;

impl Limits {
    /// Reject values that are zero or above the hard bounds; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.memory_mib == 0 || self.memory_mib > MAX_MEMORY_MIB {
            return Err(format!("memory_mib must be 1..={MAX_MEMORY_MIB}"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(format!("timeout_ms must be 1..={MAX_TIMEOUT_MS}"));
        }
        if self.max_output_kib == 0 {
            return Err("max_output_kib must be at least 1".into());
        }
        if self.max_host_calls == 0 {
            return Err("max_host_calls must be at least 1".into());
        }
        if self.confirm_timeout_ms == 0 || self.confirm_timeout_ms > MAX_CONFIRM_TIMEOUT_MS {
            return Err(format!(
                "confirm_timeout_ms must be 1..={MAX_CONFIRM_TIMEOUT_MS}"
            ));
        }
        Ok(())
    }

    /// Memory limit in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }

    /// Output limit in bytes.
    pub fn output_bytes(&self) -> usize {
        self.max_output_kib as usize * 1024
    }

    /// Stdio capture limit in bytes.
    pub fn stdio_bytes(&self) -> usize {
        self.max_stdio_kib as usize * 1024
    }

    /// Deadline as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Confirmation budget as a duration.
    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms)
    }
}

/// The wall-clock deadline of one call, pausable while the host waits for the user.
///
/// Shared by the epoch callback (guest code), the runtime's watchdog (host awaits) and the
/// `confirm` host function. While paused, the deadline cannot expire; [`CallClock::resume`]
/// moves it by the paused time and charges that time to the confirmation budget.
#[derive(Debug)]
pub struct CallClock {
    inner: parking_lot::Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    deadline: Instant,
    paused_at: Option<Instant>,
    confirm_left: Duration,
}

impl CallClock {
    /// A clock whose deadline is `timeout` from now, with `confirm_budget` of pausable time.
    pub fn new(timeout: Duration, confirm_budget: Duration) -> Arc<Self> {
        Arc::new(CallClock {
            inner: parking_lot::Mutex::new(ClockState {
                deadline: Instant::now() + timeout,
                paused_at: None,
                confirm_left: confirm_budget,
            }),
        })
    }

    /// The current deadline; `None` while paused.
    pub fn deadline(&self) -> Option<Instant> {
        let s = self.inner.lock();
        s.paused_at.is_none().then_some(s.deadline)
    }

    /// True when the deadline has passed (never while paused).
    pub fn expired(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }

    /// Confirmation time left in this call.
    pub fn confirm_left(&self) -> Duration {
        self.inner.lock().confirm_left
    }

    /// Stop the deadline until the guard is dropped; returns the guard and the confirmation
    /// time left (the caller bounds its wait by it).
    pub fn pause(self: &Arc<Self>) -> (ClockPause, Duration) {
        let mut s = self.inner.lock();
        if s.paused_at.is_none() {
            s.paused_at = Some(Instant::now());
        }
        let left = s.confirm_left;
        drop(s);
        (ClockPause(self.clone()), left)
    }

    /// Restart the deadline, extended by the paused time (charged to the budget; pauses
    /// beyond the budget are not credited).
    pub fn resume(&self) {
        let mut s = self.inner.lock();
        if let Some(at) = s.paused_at.take() {
            let paused = at.elapsed().min(s.confirm_left);
            s.confirm_left -= paused;
            s.deadline += paused;
        }
    }
}

/// Resumes the [`CallClock`] when dropped (also when the waiting future is dropped).
#[derive(Debug)]
pub struct ClockPause(Arc<CallClock>);

impl Drop for ClockPause {
    fn drop(&mut self) {
        self.0.resume();
    }
}

/// Maximum instances per store (a component instantiates a handful of core instances).
pub const MAX_INSTANCES: usize = 64;
/// Maximum table elements per table.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Build the one engine of the process: component model, epoch interruption, Cranelift
/// speed optimisation, optional pooling allocator.
pub fn engine_config(pooling: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Never fall back to a global compile cache; we keep our own keyed cache.
    config.parallel_compilation(true);
    if pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(128);
        pool.total_core_instances(1024);
        pool.total_memories(256);
        pool.total_tables(256);
        pool.max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024);
        pool.table_elements(MAX_TABLE_ELEMENTS);
        pool.max_core_instances_per_component(MAX_INSTANCES as u32);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Which limit stopped a call, recorded by the limiter so errors can name it.
#[derive(Debug, Default, Clone)]
pub struct LimitFlags {
    memory: Arc<AtomicBool>,
}

impl LimitFlags {
    /// True once the memory limit refused a growth.
    pub fn memory_exceeded(&self) -> bool {
        self.memory.load(Ordering::Relaxed)
    }
}

/// Per-store resource limiter: memory, tables, instances. Growth beyond the limit traps.
#[derive(Debug)]
pub struct CallLimiter {
    memory_bytes: usize,
    flags: LimitFlags,
}

impl CallLimiter {
    /// A limiter for one call.
    pub fn new(limits: &Limits) -> Self {
        CallLimiter {
            memory_bytes: limits.memory_bytes(),
            flags: LimitFlags::default(),
        }
    }

    /// Flags shared with the caller.
    pub fn flags(&self) -> LimitFlags {
        self.flags.clone()
    }
}

/// Error raised inside the store when a memory growth exceeds the limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: wanted {desired} bytes, limit is {limit} bytes")]
pub struct MemoryLimitExceeded {
    /// Requested size.
    pub desired: usize,
    /// Configured limit.
    pub limit: usize,
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.flags.memory.store(true, Ordering::Relaxed);
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired,
                limit: self.memory_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_INSTANCES
    }
}

/// Number of epoch ticks until a deadline (at least 1).
pub fn ticks_for(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// A thread that advances the engine epoch every [`EPOCH_TICK`] until dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    /// Start ticking `engine`.
    pub fn start(engine: wasmtime::Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch ticker thread");
        EpochTicker {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn defaults_are_safe_and_valid() {
        let l = Limits::default();
        assert!(l.validate().is_ok());
        assert_eq!(l.memory_bytes(), 64 << 20);
        assert!(l.timeout() <= Duration::from_secs(60));
        assert_eq!(l.output_bytes(), 1 << 20);
    }

    #[test]
    fn validation_names_the_setting() {
        let l = Limits {
            memory_mib: 0,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("memory_mib"));
        let l = Limits {
            timeout_ms: MAX_TIMEOUT_MS + 1,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("timeout_ms"));
        let l = Limits {
            max_host_calls: 0,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("max_host_calls"));
        let l = Limits {
            confirm_timeout_ms: MAX_CONFIRM_TIMEOUT_MS + 1,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("confirm_timeout_ms"));
    }

    #[test]
    fn clock_pauses_and_extends_the_deadline_within_the_budget() {
        let clock = CallClock::new(Duration::from_millis(50), Duration::from_millis(80));
        let before = clock.deadline().unwrap();
        {
            let (_pause, left) = clock.pause();
            assert_eq!(left, Duration::from_millis(80));
            assert!(clock.deadline().is_none());
            std::thread::sleep(Duration::from_millis(60));
            // Past the original deadline, but paused: not expired.
            assert!(!clock.expired(Instant::now()));
        }
        let after = clock.deadline().unwrap();
        assert!(after >= before + Duration::from_millis(60), "extended");
        assert!(!clock.expired(Instant::now()));
        assert!(clock.confirm_left() <= Duration::from_millis(20));
        // A pause longer than what is left of the budget is credited only up to the budget.
        let (pause, _) = clock.pause();
        std::thread::sleep(Duration::from_millis(40));
        drop(pause);
        assert_eq!(clock.confirm_left(), Duration::ZERO);
        let capped = clock.deadline().unwrap();
        assert!(
            capped < after + Duration::from_millis(40),
            "not credited beyond budget"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(clock.expired(Instant::now()));
    }

    #[test]
    fn limits_parse_partially_from_toml() {
        let l: Limits = toml::from_str("memory_mib = 16\ntimeout_ms = 500").unwrap();
        assert_eq!(l.memory_mib, 16);
        assert_eq!(l.timeout_ms, 500);
        assert_eq!(l.max_output_kib, Limits::default().max_output_kib);
        assert!(toml::from_str::<Limits>("memroy_mib = 1").is_err());
    }

    #[test]
    fn limiter_refuses_growth_beyond_limit_and_flags_it() {
        let l = Limits {
            memory_mib: 1,
            ..Limits::default()
        };
        let mut lim = CallLimiter::new(&l);
        let flags = lim.flags();
        assert!(lim.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!flags.memory_exceeded());
        let err = lim.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(err.to_string().contains("memory limit exceeded"));
        assert!(flags.memory_exceeded());
        assert!(!lim.table_growing(0, MAX_TABLE_ELEMENTS + 1, None).unwrap());
    }

    #[test]
    fn ticks_round_down_but_never_zero() {
        assert_eq!(ticks_for(Duration::from_millis(1)), 1);
        assert_eq!(ticks_for(Duration::from_millis(2_000)), 200);
    }

    #[test]
    fn engine_builds_with_and_without_pooling() {
        wasmtime::Engine::new(&engine_config(false)).unwrap();
        wasmtime::Engine::new(&engine_config(true)).unwrap();
    }
}
