//! The engine, component loading (cache, version and capability checks) and sandboxed calls.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use super::backend::{CallContext, PluginBackend};
use super::bindings::{self, TradingPlugin, TradingPluginPre, types::Error as ApiError};
use super::config::{Capability, Grant};
use super::limits::{self, CallClock, EpochTicker, Limits, MemoryLimitExceeded};
use super::ownership::OrderOwners;
use super::state::{CallState, HostCallBudgetExceeded};

/// Why a plugin was refused at load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a valid component.
    #[error("plugin `{plugin}` is not a valid WebAssembly component: {message}")]
    Compile {
        /// Plugin.
        plugin: String,
        /// Cause.
        message: String,
    },
    /// Built against an incompatible WIT version.
    #[error(
        "plugin `{plugin}` needs {found}, but this host provides {package}@{host} \
         (compatible: {package}@{compat}); rebuild it against ibkr-plugin-sdk {compat}"
    )]
    IncompatibleVersion {
        /// Plugin.
        plugin: String,
        /// The interface + version the plugin uses.
        found: String,
        /// Package name.
        package: &'static str,
        /// Host version.
        host: &'static str,
        /// Compatible range.
        compat: String,
    },
    /// Imports a capability interface that was not granted.
    #[error(
        "plugin `{plugin}` imports `{interface}`, which needs capability `{capability}`; \
         it is not granted (granted: {granted}); add it to [plugins.plugin.{plugin}] grant"
    )]
    CapabilityNotGranted {
        /// Plugin.
        plugin: String,
        /// Missing capability.
        capability: Capability,
        /// The import requiring it.
        interface: String,
        /// What was granted.
        granted: String,
    },
    /// Imports something the host never provides (sockets, HTTP, unknown packages).
    #[error("plugin `{plugin}` imports `{import}`, which this host never provides to plugins")]
    ForbiddenImport {
        /// Plugin.
        plugin: String,
        /// Import name.
        import: String,
    },
    /// Lacks a required export.
    #[error("plugin `{plugin}` does not export `{export}` (build it with ibkr-plugin-sdk)")]
    MissingExport {
        /// Plugin.
        plugin: String,
        /// Export name.
        export: String,
    },
    /// Linking failed (e.g. it uses a function of a newer minor version).
    #[error("plugin `{plugin}` cannot be linked: {message}")]
    Link {
        /// Plugin.
        plugin: String,
        /// Cause.
        message: String,
    },
    /// Invalid plugin, workflow or prompt metadata.
    #[error("plugin `{plugin}`: {message}")]
    Metadata {
        /// Plugin.
        plugin: String,
        /// Cause.
        message: String,
    },
}

/// Why a plugin call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No such plugin, workflow or prompt.
    #[error("not found: {0}")]
    NotFound(String),
    /// The call exceeded its wall-clock deadline.
    #[error("plugin `{plugin}` exceeded its deadline of {timeout_ms} ms and was stopped")]
    Timeout {
        /// Plugin.
        plugin: String,
        /// Deadline.
        timeout_ms: u64,
    },
    /// The call exceeded its memory limit.
    #[error("plugin `{plugin}` exceeded its memory limit of {limit_mib} MiB and was stopped")]
    MemoryLimit {
        /// Plugin.
        plugin: String,
        /// Limit.
        limit_mib: u32,
    },
    /// The call made too many host calls.
    #[error("plugin `{plugin}` exceeded its budget of {max} host calls and was stopped")]
    HostCallBudget {
        /// Plugin.
        plugin: String,
        /// Budget.
        max: u32,
    },
    /// The output exceeded the output size limit.
    #[error("plugin `{plugin}` returned {size} bytes, more than its output limit of {limit} bytes")]
    OutputTooLarge {
        /// Plugin.
        plugin: String,
        /// Output size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// The plugin trapped (panic, unreachable, out-of-bounds access, ...).
    #[error("plugin `{plugin}` crashed: {message}")]
    Trap {
        /// Plugin.
        plugin: String,
        /// Trap description.
        message: String,
    },
    /// The client cancelled the call.
    #[error("plugin `{plugin}` call cancelled")]
    Cancelled {
        /// Plugin.
        plugin: String,
    },
    /// The plugin returned an error.
    #[error("plugin `{plugin}` failed: {}", describe_api_error(.error))]
    Plugin {
        /// Plugin.
        plugin: String,
        /// The error it returned.
        error: ApiError,
    },
    /// The plugin returned output that is not JSON.
    #[error("plugin `{plugin}` returned invalid JSON: {message}")]
    BadOutput {
        /// Plugin.
        plugin: String,
        /// Cause.
        message: String,
    },
}

impl CallError {
    /// Short stable code (for logs, tests and MCP error payloads).
    pub fn code(&self) -> &'static str {
        match self {
            CallError::NotFound(_) => "not-found",
            CallError::Timeout { .. } => "timeout",
            CallError::MemoryLimit { .. } => "memory-limit",
            CallError::HostCallBudget { .. } => "host-call-budget",
            CallError::OutputTooLarge { .. } => "output-too-large",
            CallError::Trap { .. } => "trap",
            CallError::Cancelled { .. } => "cancelled",
            CallError::Plugin { error, .. } => api_error_code(error),
            CallError::BadOutput { .. } => "bad-output",
        }
    }
}

/// Short code of a WIT error.
pub fn api_error_code(e: &ApiError) -> &'static str {
    match e {
        ApiError::PermissionDenied(_) => "permission-denied",
        ApiError::GuardrailViolation(_) => "guardrail-violation",
        ApiError::NotConnected => "not-connected",
        ApiError::InvalidArgument(_) => "invalid-argument",
        ApiError::BrokerError(_) => "broker-error",
        ApiError::Timeout => "broker-timeout",
        ApiError::Cancelled => "cancelled",
        ApiError::Declined(_) => "declined",
        ApiError::Failed(_) => "failed",
    }
}

/// Human text of a WIT error.
pub fn describe_api_error(e: &ApiError) -> String {
    match e {
        ApiError::PermissionDenied(m) => format!("permission denied: {m}"),
        ApiError::GuardrailViolation(m) => format!("guardrail violation: {m}"),
        ApiError::NotConnected => "not connected to TWS".into(),
        ApiError::InvalidArgument(m) => format!("invalid argument: {m}"),
        ApiError::BrokerError(b) => format!("broker error {}: {}", b.code, b.message),
        ApiError::Timeout => "broker timeout".into(),
        ApiError::Cancelled => "cancelled".into(),
        ApiError::Declined(m) => format!("declined: {m}"),
        ApiError::Failed(m) => m.clone(),
    }
}

/// A semver triple.
pub type Version = (u64, u64, u64);

/// Parse `ns:pkg/iface@1.2.3` into (package, interface, version).
pub fn parse_interface_name(name: &str) -> Option<(&str, &str, Option<Version>)> {
    let (path, ver) = match name.split_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (name, None),
    };
    let (pkg, iface) = path.split_once('/')?;
    let version = match ver {
        Some(v) => {
            let core = v.split(['-', '+']).next().unwrap_or(v);
            let mut it = core.split('.').map(|p| p.parse::<u64>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
                _ => return None,
            }
        }
        None => None,
    };
    Some((pkg, iface, version))
}

/// Semver compatibility as the component model applies it: same major, and for 0.x the
/// same minor.
pub fn version_compatible(plugin: Version, host: Version) -> bool {
    if host.0 == 0 {
        plugin.0 == 0 && plugin.1 == host.1
    } else {
        plugin.0 == host.0
    }
}

fn compat_range() -> String {
    let (a, b, _) = bindings::VERSION;
    if a == 0 {
        format!("0.{b}.x")
    } else {
        format!("{a}.x")
    }
}

/// WASI interfaces a plugin may import. Filesystem is linked but has no preopens;
/// environment/args are empty; stdio is captured; sockets and HTTP are never provided.
const ALLOWED_WASI: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

/// What a component imports and exports, as far as the host cares.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// Capabilities its imports require.
    pub required: Grant,
    /// WIT version of `ibkr:plugin` it was built against (highest seen).
    pub wit_version: Option<Version>,
    /// Every import name.
    pub imports: Vec<String>,
    /// Every export name.
    pub exports: Vec<String>,
}

/// Check a component's imports and exports against the host's version and the grant.
pub fn inspect(
    engine: &Engine,
    plugin: &str,
    component: &Component,
    grant: &Grant,
) -> Result<Inspection, LoadError> {
    let ty = component.component_type();
    let mut out = Inspection::default();
    let check_version = |name: &str, out: &mut Inspection| -> Result<bool, LoadError> {
        match parse_interface_name(name) {
            Some((bindings::PACKAGE, _, v)) => {
                let v = v.unwrap_or((0, 0, 0));
                if !version_compatible(v, bindings::VERSION) {
                    return Err(LoadError::IncompatibleVersion {
                        plugin: plugin.into(),
                        found: name.into(),
                        package: bindings::PACKAGE,
                        host: bindings::VERSION_STR,
                        compat: compat_range(),
                    });
                }
                out.wit_version = out.wit_version.max(Some(v));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    for (name, _) in ty.exports(engine) {
        out.exports.push(name.to_string());
        check_version(name, &mut out)?;
    }
    for (name, _) in ty.imports(engine) {
        out.imports.push(name.to_string());
        if check_version(name, &mut out)? {
            let (_, iface, _) = parse_interface_name(name).expect("parsed above");
            if let Some(cap) = Capability::for_interface(iface) {
                out.required.insert(cap);
                if !grant.contains(&cap) {
                    return Err(LoadError::CapabilityNotGranted {
                        plugin: plugin.into(),
                        capability: cap,
                        interface: name.into(),
                        granted: if grant.is_empty() {
                            "nothing".into()
                        } else {
                            grant
                                .iter()
                                .map(|c| c.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    });
                }
            } else if iface != "types" && iface != "host" {
                return Err(LoadError::ForbiddenImport {
                    plugin: plugin.into(),
                    import: name.into(),
                });
            }
            continue;
        }
        let base = name.split('@').next().unwrap_or(name);
        if !ALLOWED_WASI.contains(&base) {
            return Err(LoadError::ForbiddenImport {
                plugin: plugin.into(),
                import: name.into(),
            });
        }
    }
    for want in ["prompts", "workflows"] {
        let found = out.exports.iter().any(
            |e| matches!(parse_interface_name(e), Some((bindings::PACKAGE, i, _)) if i == want),
        );
        if !found {
            return Err(LoadError::MissingExport {
                plugin: plugin.into(),
                export: format!("{}/{want}@{}", bindings::PACKAGE, bindings::VERSION_STR),
            });
        }
    }
    Ok(out)
}

/// The process-wide plugin engine: one `Engine`, its epoch ticker, one `Linker`.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    engine_hash: String,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("engine_hash", &self.engine_hash)
            .finish()
    }
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Loaded from the precompiled cache.
    Cache,
    /// Compiled now (and written to the cache if there is one).
    Compiled,
}

impl Runtime {
    /// Build the engine (optionally with the pooling allocator) and the linker.
    pub fn new(pooling: bool) -> Result<Self, String> {
        let engine = Engine::new(&limits::engine_config(pooling))
            .or_else(|e| {
                if pooling {
                    tracing::warn!("pooling allocator unavailable ({e}); using on-demand");
                    Engine::new(&limits::engine_config(false))
                } else {
                    Err(e)
                }
            })
            .map_err(|e| format!("plugin engine: {e}"))?;
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| format!("linking WASI: {e}"))?;
        TradingPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| format!("linking ibkr:plugin: {e}"))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_hash = format!("{:016x}", h.finish());
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            engine_hash,
            _ticker: ticker,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compile a component, going through the on-disk cache keyed by content digest and
    /// engine configuration.
    pub fn compile(
        &self,
        plugin: &str,
        bytes: &[u8],
        cache_dir: Option<&Path>,
    ) -> Result<(Component, String, CompileSource), LoadError> {
        let digest = hex::encode(Sha256::digest(bytes));
        let compile_err = |e: wasmtime::Error| LoadError::Compile {
            plugin: plugin.into(),
            message: format!("{e:#}"),
        };
        let Some(dir) = cache_dir else {
            let c = Component::new(&self.engine, bytes).map_err(compile_err)?;
            return Ok((c, digest, CompileSource::Compiled));
        };
        let path = dir.join(format!("{digest}-{}.cwasm", self.engine_hash));
        if path.exists() {
            // SAFETY: files in the cache directory are written only by this function from
            // `Engine::precompile_component` output for this exact engine configuration
            // (the key includes the engine's compatibility hash); the directory belongs to
            // the operator.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => return Ok((c, digest, CompileSource::Cache)),
                Err(e) => tracing::warn!(?path, "discarding unusable cache entry: {e}"),
            }
        }
        let serialized = self
            .engine
            .precompile_component(bytes)
            .map_err(compile_err)?;
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| {
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = dir.join(format!(".{digest}.{}.{seq}.tmp", std::process::id()));
            std::fs::write(&tmp, &serialized)?;
            std::fs::rename(&tmp, &path)
        }) {
            tracing::warn!(?dir, "cannot write plugin cache: {e}");
        }
        // SAFETY: `serialized` was just produced by `precompile_component` of this engine.
        let c =
            unsafe { Component::deserialize(&self.engine, &serialized) }.map_err(compile_err)?;
        Ok((c, digest, CompileSource::Compiled))
    }

    /// Link a checked component into an `InstancePre`.
    pub fn prepare(
        &self,
        plugin: &str,
        component: &Component,
    ) -> Result<TradingPluginPre<CallState>, LoadError> {
        let link_err = |e: wasmtime::Error| LoadError::Link {
            plugin: plugin.into(),
            message: format!("{e:#}"),
        };
        let pre = self.linker.instantiate_pre(component).map_err(link_err)?;
        TradingPluginPre::new(pre).map_err(link_err)
    }
}

/// Everything one call needs besides its arguments.
#[derive(Clone)]
pub struct CallEnv {
    /// Plugin name.
    pub plugin: Arc<str>,
    /// Capabilities granted.
    pub grant: Grant,
    /// Limits.
    pub limits: Limits,
    /// Broker.
    pub backend: Arc<dyn PluginBackend>,
    /// Plugin configuration values.
    pub config: Arc<BTreeMap<String, String>>,
    /// Who placed which order (shared by all plugins of the host).
    pub owners: Arc<OrderOwners>,
    /// May modify/cancel orders it did not place.
    pub manage_all_orders: bool,
}

/// Ticks between cooperative yields of a running plugin (lets other tasks run while a
/// CPU-bound plugin computes).
const YIELD_TICKS: u64 = 5;

/// Raised by the epoch callback when the wall-clock deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
struct DeadlineExceeded;

/// One operation on a plugin instance.
#[derive(Debug, Clone)]
pub enum Op {
    /// `list-workflows` + `list-prompts`.
    Describe,
    /// `run-workflow(name, input)`.
    Run {
        /// Workflow name.
        workflow: String,
        /// JSON input text.
        input: String,
    },
    /// `render-prompt(name, args)`.
    Render {
        /// Prompt name.
        prompt: String,
        /// Arguments.
        args: Vec<(String, String)>,
    },
}

/// Result of an [`Op`].
#[derive(Debug)]
pub enum OpOutput {
    /// Workflows and prompts.
    Described(
        Vec<bindings::workflows::Workflow>,
        Vec<bindings::prompts::Prompt>,
    ),
    /// Workflow result.
    Ran(Result<String, ApiError>),
    /// Prompt result.
    Rendered(Result<Vec<bindings::prompts::PromptMessage>, ApiError>),
}

async fn perform(
    pre: &TradingPluginPre<CallState>,
    store: &mut Store<CallState>,
    op: Op,
) -> wasmtime::Result<OpOutput> {
    let instance = pre.instantiate_async(&mut *store).await?;
    Ok(match op {
        Op::Describe => {
            let w = instance
                .ibkr_plugin_workflows()
                .call_list_workflows(&mut *store)
                .await?;
            let p = instance
                .ibkr_plugin_prompts()
                .call_list_prompts(&mut *store)
                .await?;
            OpOutput::Described(w, p)
        }
        Op::Run { workflow, input } => OpOutput::Ran(
            instance
                .ibkr_plugin_workflows()
                .call_run_workflow(&mut *store, &workflow, &input)
                .await?,
        ),
        Op::Render { prompt, args } => OpOutput::Rendered(
            instance
                .ibkr_plugin_prompts()
                .call_render_prompt(&mut *store, &prompt, &args)
                .await?,
        ),
    })
}

/// Run `op` against a fresh instance in a fresh store bounded by `env.limits`.
pub async fn call_plugin(
    pre: &TradingPluginPre<CallState>,
    env: &CallEnv,
    call: CallContext,
    op: Op,
) -> Result<OpOutput, CallError> {
    let plugin = env.plugin.to_string();
    let cancel = call.cancel.clone();
    let clock = CallClock::new(env.limits.timeout(), env.limits.confirm_timeout());
    let state = CallState::new(env, call, clock.clone());
    let flags = state.limiter.flags();
    let mut store = Store::new(pre.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(YIELD_TICKS);
    let epoch_clock = clock.clone();
    store.epoch_deadline_callback(move |_| {
        if epoch_clock.expired(Instant::now()) {
            Err(wasmtime::Error::new(DeadlineExceeded))
        } else {
            Ok(UpdateDeadline::Yield(YIELD_TICKS))
        }
    });

    // Host awaits (broker calls) are not interrupted by epochs; bound them with a watchdog
    // on the same (pausable) clock.
    let run = perform(pre, &mut store, op);
    let outcome = tokio::select! {
        r = run => r.map_err(Some),
        _ = watchdog(&clock) => Err(None),
        _ = cancel.cancelled() => {
            return Err(CallError::Cancelled { plugin });
        }
    };
    let state = store.into_data();
    log_stdio(&plugin, &state);
    match outcome {
        Ok(r) => Ok(r),
        Err(None) => Err(CallError::Timeout {
            plugin,
            timeout_ms: env.limits.timeout_ms,
        }),
        Err(Some(e)) => Err(classify(plugin, e, &env.limits, flags.memory_exceeded())),
    }
}

/// Resolves once the call's deadline (plus a short grace for the epoch check to win) has
/// passed. While the clock is paused (confirmation) it waits; the pause is bounded by the
/// confirmation budget, which the `confirm` host function enforces with its own timer.
async fn watchdog(clock: &CallClock) {
    let grace = Duration::from_millis(50);
    loop {
        match clock.deadline() {
            None => tokio::time::sleep(limits::EPOCH_TICK * 5).await,
            Some(d) => {
                let until = d + grace;
                if Instant::now() >= until {
                    return;
                }
                tokio::time::sleep_until(until.into()).await;
            }
        }
    }
}

fn classify(plugin: String, e: wasmtime::Error, limits: &Limits, memory_hit: bool) -> CallError {
    if e.downcast_ref::<DeadlineExceeded>().is_some()
        || matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt))
    {
        return CallError::Timeout {
            plugin,
            timeout_ms: limits.timeout_ms,
        };
    }
    if let Some(b) = e.downcast_ref::<HostCallBudgetExceeded>() {
        return CallError::HostCallBudget { plugin, max: b.0 };
    }
    if memory_hit || e.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return CallError::MemoryLimit {
            plugin,
            limit_mib: limits.memory_mib,
        };
    }
    CallError::Trap {
        plugin,
        message: format!("{e:#}")
            .lines()
            .take(6)
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// Forward captured guest stdout/stderr to the log, tagged with the plugin name.
fn log_stdio(plugin: &str, state: &CallState) {
    for (stream, pipe) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
        let bytes = pipe.contents();
        for line in String::from_utf8_lossy(&bytes).lines() {
            tracing::info!(target: "plugin", plugin, stream, "{line}");
        }
        if pipe.dropped() > 0 {
            tracing::warn!(target: "plugin", plugin, stream, dropped = pipe.dropped(), "output beyond the capture limit was dropped");
        }
    }
}

/// Check an output size against the limit.
pub fn check_output(plugin: &str, size: usize, limits: &Limits) -> Result<(), CallError> {
    if size > limits.output_bytes() {
        return Err(CallError::OutputTooLarge {
            plugin: plugin.into(),
            size,
            limit: limits.output_bytes(),
        });
    }
    Ok(())
}

/// Convenience: map a plugin-returned WIT error.
pub fn plugin_error(plugin: &str, error: ApiError) -> CallError {
    if matches!(error, ApiError::Cancelled) {
        return CallError::Cancelled {
            plugin: plugin.into(),
        };
    }
    CallError::Plugin {
        plugin: plugin.into(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_parse() {
        assert_eq!(
            parse_interface_name("ibkr:plugin/market-data@0.1.0"),
            Some(("ibkr:plugin", "market-data", Some((0, 1, 0))))
        );
        assert_eq!(
            parse_interface_name("wasi:cli/stdout@0.2.6"),
            Some(("wasi:cli", "stdout", Some((0, 2, 6))))
        );
        assert_eq!(
            parse_interface_name("a:b/c@1.0.0-rc.1"),
            Some(("a:b", "c", Some((1, 0, 0))))
        );
        assert_eq!(parse_interface_name("plain"), None);
    }

    #[test]
    fn semver_rules_follow_the_component_model() {
        assert!(version_compatible((0, 1, 0), (0, 1, 0)));
        assert!(version_compatible((0, 1, 0), (0, 1, 7)));
        assert!(version_compatible((0, 1, 9), (0, 1, 0)));
        assert!(!version_compatible((0, 2, 0), (0, 1, 0)));
        assert!(!version_compatible((1, 0, 0), (0, 1, 0)));
        assert!(version_compatible((1, 4, 0), (1, 0, 0)));
        assert!(!version_compatible((2, 0, 0), (1, 9, 0)));
    }
}
