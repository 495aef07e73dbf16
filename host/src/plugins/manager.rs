//! The plugin registry: loads a directory, keeps `Arc<LoadedPlugin>` entries in a map that
//! hot reload swaps (in-flight calls finish on the old version), and serves calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::RwLock;
use serde::Serialize;
use tokio::sync::watch;

use super::backend::{CallContext, PluginBackend};
use super::bindings::{TradingPluginPre, prompts as wprompts, workflows as wflows};
use super::config::{
    Capability, EffectiveSettings, Grant, PluginsConfig, qualified_name, split_qualified,
    validate_plugin_name,
};
use super::ownership::OrderOwners;
use super::runtime::{
    self, CallEnv, CallError, CompileSource, LoadError, Op, OpOutput, Runtime, check_output,
    plugin_error,
};
use super::state::CallState;

/// Whether a workflow only reads or may trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Reads data only.
    ReadOnly,
    /// May place, modify or cancel orders.
    Destructive,
}

/// A workflow tool as the MCP surface shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `<plugin>__<workflow>`.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// Workflow name within the plugin.
    pub workflow: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// JSON Schema of the input (an object schema).
    pub input_schema: serde_json::Map<String, serde_json::Value>,
    /// JSON Schema of the output, if any.
    pub output_schema: Option<serde_json::Map<String, serde_json::Value>>,
    /// Read-only or destructive.
    pub access: Access,
}

/// Argument of a plugin prompt.
#[derive(Debug, Clone, Serialize)]
pub struct PromptArgInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Required.
    pub required: bool,
    /// Kind: text, symbol, account, number (drives completion).
    pub kind: &'static str,
}

/// A prompt as the MCP surface shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PromptInfo {
    /// `<plugin>__<prompt>`.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// Prompt name within the plugin.
    pub prompt: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// Arguments.
    pub arguments: Vec<PromptArgInfo>,
}

/// A rendered prompt message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedMessage {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// Text.
    pub text: String,
}

/// A loaded, validated plugin.
pub struct LoadedPlugin {
    /// Name (file stem).
    pub name: Arc<str>,
    /// Source file.
    pub path: PathBuf,
    /// SHA-256 of the component.
    pub digest: String,
    /// WIT version it was built against.
    pub wit_version: String,
    /// Capabilities its imports require.
    pub required: Grant,
    /// Effective settings.
    pub settings: EffectiveSettings,
    /// Workflows.
    pub tools: Vec<ToolInfo>,
    /// Prompts.
    pub prompts: Vec<PromptInfo>,
    /// Whether it came from the precompiled cache.
    pub from_cache: bool,
    /// Load time.
    pub load_time: std::time::Duration,
    pre: TradingPluginPre<CallState>,
    env: CallEnv,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("wit_version", &self.wit_version)
            .finish()
    }
}

/// A summary row for `plugins list` and status endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct PluginSummary {
    /// Name.
    pub name: String,
    /// File.
    pub path: PathBuf,
    /// `loaded` or `refused`.
    pub status: &'static str,
    /// Why it was refused.
    pub error: Option<String>,
    /// WIT version.
    pub wit_version: Option<String>,
    /// Capabilities granted.
    pub granted: Vec<Capability>,
    /// Capabilities it uses.
    pub required: Vec<Capability>,
    /// May modify/cancel orders it did not place (operator setting `manage_all_orders`).
    pub manage_all_orders: bool,
    /// Tools (qualified names).
    pub tools: Vec<String>,
    /// Prompts (qualified names).
    pub prompts: Vec<String>,
    /// SHA-256.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let m = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// The plugin host: runtime, configuration, backend and the live registry.
pub struct PluginHost {
    runtime: Runtime,
    config: PluginsConfig,
    backend: Arc<dyn PluginBackend>,
    owners: Arc<OrderOwners>,
    plugins: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
    refused: RwLock<BTreeMap<String, (PathBuf, Fingerprint, String)>>,
    generation: watch::Sender<u64>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.plugins.read().keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Result of scanning the plugin directory.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Plugins loaded or reloaded.
    pub loaded: Vec<String>,
    /// Plugins removed.
    pub removed: Vec<String>,
    /// Plugins refused, with the reason.
    pub refused: Vec<(String, String)>,
}

impl ScanReport {
    /// True when the visible set of tools/prompts may have changed.
    pub fn changed(&self) -> bool {
        !self.loaded.is_empty() || !self.removed.is_empty()
    }
}

impl PluginHost {
    /// Create the host (engine, linker, epoch ticker). Does not load anything yet.
    pub fn new(
        config: PluginsConfig,
        backend: Arc<dyn PluginBackend>,
    ) -> Result<Arc<Self>, String> {
        config.validate()?;
        let runtime = Runtime::new(config.pooling)?;
        Ok(Arc::new(PluginHost {
            runtime,
            config,
            backend,
            owners: OrderOwners::new(),
            plugins: RwLock::new(BTreeMap::new()),
            refused: RwLock::new(BTreeMap::new()),
            generation: watch::channel(0).0,
        }))
    }

    /// Rebuild which plugin owns which order from audit records (see
    /// [`OrderOwners::restore`]); returns how many orders plugins own.
    pub fn restore_order_owners(&self, records: &[crate::broker::audit::AuditRecord]) -> usize {
        self.owners.restore(records)
    }

    /// The configuration.
    pub fn config(&self) -> &PluginsConfig {
        &self.config
    }

    /// Changes counter: bumps whenever tools or prompts change (for `list_changed`).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Load and validate one plugin file with the given settings, without registering it.
    pub async fn load_file(
        &self,
        name: &str,
        path: &Path,
        settings: EffectiveSettings,
    ) -> Result<LoadedPlugin, LoadError> {
        let started = Instant::now();
        let meta = |m: String| LoadError::Metadata {
            plugin: name.into(),
            message: m,
        };
        validate_plugin_name(name).map_err(|e| meta(format!("invalid plugin name: {e}")))?;
        let fp = fingerprint(path);
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Io {
                path: path.into(),
                source,
            })?;
        let cache = self.config.effective_cache_dir();
        let (component, digest, source) = {
            let rt = &self.runtime;
            let name = name.to_string();
            let compile = || rt.compile(&name, &bytes, cache.as_deref());
            // Compilation is CPU-bound; tell a multi-threaded runtime we block.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                    tokio::task::block_in_place(compile)?
                }
                _ => compile()?,
            }
        };
        let inspection =
            runtime::inspect(self.runtime.engine(), name, &component, &settings.grant)?;
        let pre = self.runtime.prepare(name, &component)?;
        let env = CallEnv {
            plugin: Arc::from(name),
            grant: settings.grant.clone(),
            limits: settings.limits,
            backend: self.backend.clone(),
            config: Arc::new(settings.config.clone()),
            owners: self.owners.clone(),
            manage_all_orders: settings.manage_all_orders,
        };
        let described = runtime::call_plugin(&pre, &env, CallContext::default(), Op::Describe)
            .await
            .map_err(|e| meta(format!("listing workflows and prompts failed: {e}")))?;
        let OpOutput::Described(raw_tools, raw_prompts) = described else {
            unreachable!("describe returns descriptions")
        };
        let tools = convert_tools(name, raw_tools).map_err(meta)?;
        let prompts = convert_prompts(name, raw_prompts).map_err(meta)?;
        let v = inspection.wit_version.unwrap_or((0, 0, 0));
        Ok(LoadedPlugin {
            name: Arc::from(name),
            path: path.into(),
            digest,
            wit_version: format!("{}.{}.{}", v.0, v.1, v.2),
            required: inspection.required,
            settings,
            tools,
            prompts,
            from_cache: source == CompileSource::Cache,
            load_time: started.elapsed(),
            pre,
            env,
            fingerprint: fp.unwrap_or(Fingerprint {
                len: 0,
                modified: None,
            }),
        })
    }

    /// Scan the plugin directory: load new and changed files, drop removed ones. A changed
    /// file that fails to load keeps the previous version serving.
    pub async fn scan(&self) -> ScanReport {
        let mut report = ScanReport::default();
        if !self.config.enabled {
            return report;
        }
        let Some(dir) = self.config.dir.clone() else {
            return report;
        };
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for entry in rd.flatten() {
                let p = entry.path();
                if p.extension().and_then(|e| e.to_str()) != Some("wasm") || !p.is_file() {
                    continue;
                }
                if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    found.insert(stem.to_string(), p);
                }
            }
        }
        for (name, path) in &found {
            let fp = fingerprint(path);
            let current = self.plugins.read().get(name).cloned();
            if let Some(cur) = &current
                && Some(cur.fingerprint) == fp
                && cur.path == *path
            {
                continue;
            }
            if let Some((_, rfp, _)) = self.refused.read().get(name)
                && Some(*rfp) == fp
            {
                continue;
            }
            let settings = self.config.settings_for(name);
            if !settings.enabled {
                continue;
            }
            match self.load_file(name, path, settings).await {
                Ok(p) => {
                    tracing::info!(
                        plugin = %name,
                        wit = %p.wit_version,
                        tools = p.tools.len(),
                        prompts = p.prompts.len(),
                        cached = p.from_cache,
                        ms = p.load_time.as_secs_f64() * 1e3,
                        "plugin loaded"
                    );
                    self.refused.write().remove(name);
                    self.plugins.write().insert(name.clone(), Arc::new(p));
                    report.loaded.push(name.clone());
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::error!(plugin = %name, "plugin refused: {msg}");
                    if let Some(fp) = fp {
                        self.refused
                            .write()
                            .insert(name.clone(), (path.clone(), fp, msg.clone()));
                    }
                    report.refused.push((name.clone(), msg));
                }
            }
        }
        let gone: Vec<String> = self
            .plugins
            .read()
            .keys()
            .filter(|k| !found.contains_key(*k))
            .cloned()
            .collect();
        for name in gone {
            self.plugins.write().remove(&name);
            tracing::info!(plugin = %name, "plugin removed");
            report.removed.push(name);
        }
        self.refused.write().retain(|k, _| found.contains_key(k));
        if report.changed() {
            self.generation.send_modify(|g| *g += 1);
        }
        report
    }

    /// Poll the plugin directory for changes until the host is dropped.
    pub fn spawn_watcher(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if !self.config.hot_reload || !self.config.enabled || self.config.dir.is_none() {
            return None;
        }
        let weak = Arc::downgrade(self);
        let every = std::time::Duration::from_millis(self.config.poll_ms);
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(host) = weak.upgrade() else { break };
                let r = host.scan().await;
                if r.changed() {
                    tracing::info!(loaded = ?r.loaded, removed = ?r.removed, "plugins reloaded");
                }
            }
        }))
    }

    /// Loaded plugins.
    pub fn plugins(&self) -> Vec<Arc<LoadedPlugin>> {
        self.plugins.read().values().cloned().collect()
    }

    /// One loaded plugin.
    pub fn plugin(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.read().get(name).cloned()
    }

    /// Summaries of loaded and refused plugins.
    pub fn summaries(&self) -> Vec<PluginSummary> {
        let mut out: Vec<PluginSummary> = self.plugins().iter().map(|p| summary(p)).collect();
        for (name, (path, _, err)) in self.refused.read().iter() {
            let s = self.config.settings_for(name);
            out.push(PluginSummary {
                name: name.clone(),
                path: path.clone(),
                status: "refused",
                error: Some(err.clone()),
                wit_version: None,
                manage_all_orders: s.manage_all_orders,
                granted: s.grant.into_iter().collect(),
                required: vec![],
                tools: vec![],
                prompts: vec![],
                digest: None,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// All workflow tools of all loaded plugins.
    pub fn tools(&self) -> Vec<ToolInfo> {
        self.plugins()
            .iter()
            .flat_map(|p| p.tools.clone())
            .collect()
    }

    /// All prompts of all loaded plugins.
    pub fn prompts(&self) -> Vec<PromptInfo> {
        self.plugins()
            .iter()
            .flat_map(|p| p.prompts.clone())
            .collect()
    }

    /// True when `name` is a plugin tool name (`<plugin>__<workflow>`) of a loaded plugin.
    pub fn has_tool(&self, name: &str) -> bool {
        self.find_tool(name).is_some()
    }

    fn find_tool(&self, name: &str) -> Option<(Arc<LoadedPlugin>, ToolInfo)> {
        let (plugin, _) = split_qualified(name)?;
        let p = self.plugin(plugin)?;
        let t = p.tools.iter().find(|t| t.name == name)?.clone();
        Some((p, t))
    }

    /// Run a workflow tool with JSON input.
    pub async fn call_tool(
        &self,
        name: &str,
        input: serde_json::Value,
        call: CallContext,
    ) -> Result<serde_json::Value, CallError> {
        let (p, t) = self
            .find_tool(name)
            .ok_or_else(|| CallError::NotFound(format!("tool `{name}`")))?;
        p.run_workflow(&t.workflow, input, call).await
    }

    /// Render a prompt.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: BTreeMap<String, String>,
        call: CallContext,
    ) -> Result<Vec<RenderedMessage>, CallError> {
        let not_found = || CallError::NotFound(format!("prompt `{name}`"));
        let (plugin, prompt) = split_qualified(name).ok_or_else(not_found)?;
        let p = self.plugin(plugin).ok_or_else(not_found)?;
        if !p.prompts.iter().any(|x| x.prompt == prompt) {
            return Err(not_found());
        }
        p.render_prompt(prompt, arguments, call).await
    }
}

impl LoadedPlugin {
    /// Run one workflow in a fresh sandbox.
    pub async fn run_workflow(
        &self,
        workflow: &str,
        input: serde_json::Value,
        call: CallContext,
    ) -> Result<serde_json::Value, CallError> {
        let input = input.to_string();
        let plugin = &*self.name;
        let op = Op::Run {
            workflow: workflow.to_string(),
            input,
        };
        let OpOutput::Ran(out) = runtime::call_plugin(&self.pre, &self.env, call, op).await? else {
            unreachable!("run returns a workflow result")
        };
        let out = out.map_err(|e| plugin_error(plugin, e))?;
        check_output(plugin, out.len(), &self.env.limits)?;
        serde_json::from_str(&out).map_err(|e| CallError::BadOutput {
            plugin: plugin.into(),
            message: e.to_string(),
        })
    }

    /// Render one prompt in a fresh sandbox.
    pub async fn render_prompt(
        &self,
        prompt: &str,
        arguments: BTreeMap<String, String>,
        call: CallContext,
    ) -> Result<Vec<RenderedMessage>, CallError> {
        let plugin = &*self.name;
        let args: Vec<(String, String)> = arguments.into_iter().collect();
        let op = Op::Render {
            prompt: prompt.to_string(),
            args,
        };
        let OpOutput::Rendered(out) = runtime::call_plugin(&self.pre, &self.env, call, op).await?
        else {
            unreachable!("render returns a rendered prompt")
        };
        let out = out.map_err(|e| plugin_error(plugin, e))?;
        let size: usize = out.iter().map(|m| m.text.len()).sum();
        check_output(plugin, size, &self.env.limits)?;
        Ok(out
            .into_iter()
            .map(|m| RenderedMessage {
                role: match m.role {
                    wprompts::Role::User => "user",
                    wprompts::Role::Assistant => "assistant",
                },
                text: m.text,
            })
            .collect())
    }
}

fn summary(p: &LoadedPlugin) -> PluginSummary {
    PluginSummary {
        name: p.name.to_string(),
        path: p.path.clone(),
        status: "loaded",
        error: None,
        wit_version: Some(p.wit_version.clone()),
        granted: p.settings.grant.iter().copied().collect(),
        required: p.required.iter().copied().collect(),
        manage_all_orders: p.settings.manage_all_orders,
        tools: p.tools.iter().map(|t| t.name.clone()).collect(),
        prompts: p.prompts.iter().map(|t| t.name.clone()).collect(),
        digest: Some(p.digest.clone()),
    }
}

fn parse_schema(
    what: &str,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{what} is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err(format!("{what} must be a JSON object"));
    };
    if map.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(format!("{what} must have \"type\": \"object\""));
    }
    Ok(map)
}

fn convert_tools(plugin: &str, raw: Vec<wflows::Workflow>) -> Result<Vec<ToolInfo>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for w in raw {
        validate_plugin_name(&w.name).map_err(|e| format!("workflow: {e}"))?;
        if !seen.insert(w.name.clone()) {
            return Err(format!("workflow `{}` is declared twice", w.name));
        }
        let input_schema = parse_schema(&format!("input schema of `{}`", w.name), &w.input_schema)?;
        let output_schema = w
            .output_schema
            .as_deref()
            .map(|s| parse_schema(&format!("output schema of `{}`", w.name), s))
            .transpose()?;
        let access = match w.access {
            wflows::Access::ReadOnly => Access::ReadOnly,
            wflows::Access::Destructive => Access::Destructive,
        };
        out.push(ToolInfo {
            name: qualified_name(plugin, &w.name),
            plugin: plugin.into(),
            workflow: w.name,
            title: w.title,
            description: w.description,
            input_schema,
            output_schema,
            access,
        });
    }
    Ok(out)
}

fn convert_prompts(plugin: &str, raw: Vec<wprompts::Prompt>) -> Result<Vec<PromptInfo>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in raw {
        validate_plugin_name(&p.name).map_err(|e| format!("prompt: {e}"))?;
        if !seen.insert(p.name.clone()) {
            return Err(format!("prompt `{}` is declared twice", p.name));
        }
        out.push(PromptInfo {
            name: qualified_name(plugin, &p.name),
            plugin: plugin.into(),
            prompt: p.name,
            title: p.title,
            description: p.description,
            arguments: p
                .arguments
                .into_iter()
                .map(|a| PromptArgInfo {
                    name: a.name,
                    description: a.description,
                    required: a.required,
                    kind: match a.kind {
                        wprompts::ArgumentKind::Text => "text",
                        wprompts::ArgumentKind::Symbol => "symbol",
                        wprompts::ArgumentKind::Account => "account",
                        wprompts::ArgumentKind::Number => "number",
                    },
                })
                .collect(),
        });
    }
    Ok(out)
}
