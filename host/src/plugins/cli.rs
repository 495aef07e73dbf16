//! `ibkr-mcp plugins list|validate`: inspect plugins without starting the server.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use super::backend::Disconnected;
use super::config::{PluginsConfig, parse_grant};
use super::manager::{Access, PluginHost};

/// The `plugins` subcommand.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PluginsCommand {
    /// List the plugins in the configured directory with their grants, tools and prompts.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate a plugin file: WIT version, imports against the grant, metadata.
    Validate {
        /// The `.wasm` component.
        file: PathBuf,
        /// Capabilities to grant, comma-separated (market-data,account,orders); default:
        /// the grant configured for a plugin of that name.
        #[arg(long)]
        grant: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Run a `plugins` subcommand; returns the text to print and the exit code.
pub async fn run(cmd: PluginsCommand, config: &PluginsConfig) -> (String, i32) {
    match cmd {
        PluginsCommand::List { json } => list(config, json).await,
        PluginsCommand::Validate { file, grant, json } => {
            validate(config, file, grant.as_deref(), json).await
        }
    }
}

async fn list(config: &PluginsConfig, json: bool) -> (String, i32) {
    if config.dir.is_none() {
        return ("no plugin directory configured ([plugins] dir)\n".into(), 1);
    }
    let cfg = PluginsConfig {
        hot_reload: false,
        ..config.clone()
    };
    let host = match PluginHost::new(cfg, Arc::new(Disconnected)) {
        Ok(h) => h,
        Err(e) => return (format!("error: {e}\n"), 2),
    };
    host.scan().await;
    let rows = host.summaries();
    if json {
        return (
            serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
            0,
        );
    }
    let mut out = String::new();
    let dir = config
        .dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "plugins in {dir}: {}", rows.len());
    for r in &rows {
        let granted: Vec<&str> = r.granted.iter().map(|c| c.name()).collect();
        let _ = writeln!(
            out,
            "- {} [{}] wit {} grant [{}]{}",
            r.name,
            r.status,
            r.wit_version.as_deref().unwrap_or("?"),
            granted.join(", "),
            if r.manage_all_orders {
                " manage_all_orders"
            } else {
                ""
            }
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "    error: {e}");
        }
        for t in &r.tools {
            let _ = writeln!(out, "    tool   {t}");
        }
        for p in &r.prompts {
            let _ = writeln!(out, "    prompt {p}");
        }
    }
    (out, 0)
}

async fn validate(
    config: &PluginsConfig,
    file: PathBuf,
    grant: Option<&str>,
    json: bool,
) -> (String, i32) {
    let Some(name) = file
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
    else {
        return (format!("error: {} has no file name\n", file.display()), 2);
    };
    let mut settings = config.settings_for(&name);
    if let Some(g) = grant {
        match parse_grant(g) {
            Ok(g) => settings.grant = g,
            Err(e) => return (format!("error: --grant: {e}\n"), 2),
        }
    }
    let cfg = PluginsConfig {
        hot_reload: false,
        dir: None,
        ..config.clone()
    };
    let host = match PluginHost::new(cfg, Arc::new(Disconnected)) {
        Ok(h) => h,
        Err(e) => return (format!("error: {e}\n"), 2),
    };
    let granted: Vec<&str> = settings.grant.iter().map(|c| c.name()).collect::<Vec<_>>();
    let granted = granted.join(", ");
    match host.load_file(&name, &file, settings).await {
        Ok(p) => {
            if json {
                let v = serde_json::json!({
                    "valid": true,
                    "name": &*p.name,
                    "witVersion": p.wit_version,
                    "digest": p.digest,
                    "required": p.required,
                    "granted": p.settings.grant,
                    "tools": p.tools,
                    "prompts": p.prompts,
                });
                return (
                    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
                    0,
                );
            }
            let mut out = String::new();
            let req: Vec<&str> = p.required.iter().map(|c| c.name()).collect();
            let _ = writeln!(out, "OK {} ({})", p.name, file.display());
            let _ = writeln!(out, "  wit      ibkr:plugin@{}", p.wit_version);
            let _ = writeln!(out, "  sha256   {}", p.digest);
            let _ = writeln!(out, "  uses     [{}]", req.join(", "));
            let _ = writeln!(out, "  granted  [{granted}]");
            for t in &p.tools {
                let access = match t.access {
                    Access::ReadOnly => "read-only",
                    Access::Destructive => "destructive",
                };
                let _ = writeln!(out, "  tool     {} ({access}): {}", t.name, t.description);
            }
            for pr in &p.prompts {
                let args: Vec<String> = pr
                    .arguments
                    .iter()
                    .map(|a| format!("{}{}", a.name, if a.required { "" } else { "?" }))
                    .collect();
                let _ = writeln!(
                    out,
                    "  prompt   {}({}): {}",
                    pr.name,
                    args.join(", "),
                    pr.description
                );
            }
            (out, 0)
        }
        Err(e) => {
            if json {
                let v = serde_json::json!({"valid": false, "name": name, "error": e.to_string()});
                return (
                    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
                    1,
                );
            }
            (format!("REFUSED {name}: {e}\n"), 1)
        }
    }
}
