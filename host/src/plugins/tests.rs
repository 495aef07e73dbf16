//! Runtime tests against real guest components (built on demand from `plugins/`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::config::{Capability, EffectiveSettings, Grant, PluginsConfig};
use super::limits::Limits;
use super::testing::guest_wasm;
use super::{CallContext, CallError, Disconnected, LoadError, PluginHost};

fn host_with(dir: Option<&std::path::Path>) -> Arc<PluginHost> {
    let cfg = PluginsConfig {
        dir: dir.map(Into::into),
        ..PluginsConfig::default()
    };
    PluginHost::new(cfg, Arc::new(Disconnected)).unwrap()
}

fn settings(grant: &[Capability], limits: Limits) -> EffectiveSettings {
    EffectiveSettings {
        grant: grant.iter().copied().collect::<Grant>(),
        limits,
        config: [("greeting".to_string(), "hi".to_string())].into(),
        enabled: true,
    }
}

fn tight() -> Limits {
    Limits {
        memory_mib: 16,
        timeout_ms: 400,
        max_output_kib: 256,
        max_host_calls: 500,
        max_stdio_kib: 16,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_loads_lists_and_runs() {
    let host = host_with(None);
    let p = host
        .load_file(
            "template",
            &guest_wasm("template"),
            settings(&[Capability::MarketData], Limits::default()),
        )
        .await
        .unwrap();
    assert_eq!(p.wit_version, "0.1.0");
    assert_eq!(p.required, [Capability::MarketData].into_iter().collect());
    assert_eq!(p.tools[0].name, "template__quote_spread");
    assert_eq!(p.prompts[0].name, "template__quote_brief");
    assert_eq!(p.prompts[0].arguments[0].kind, "symbol");
    // No broker: the plugin sees not-connected and reports it as its error.
    let err = p
        .run_workflow(
            "quote_spread",
            json!({"symbol": "AAPL"}),
            CallContext::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-connected", "{err}");
    let err = p
        .run_workflow("quote_spread", json!({"sym": 1}), CallContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-argument", "{err}");
    let msgs = p
        .render_prompt(
            "quote_brief",
            [("symbol".to_string(), "MSFT".to_string())].into(),
            CallContext::default(),
        )
        .await
        .unwrap();
    assert!(msgs[0].text.contains("MSFT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_beyond_the_grant_are_refused_naming_the_capability() {
    let host = host_with(None);
    let err = host
        .load_file(
            "template",
            &guest_wasm("template"),
            settings(&[], Limits::default()),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        LoadError::CapabilityNotGranted {
            capability: Capability::MarketData,
            ..
        }
    ));
    assert!(err.to_string().contains("`market-data`"), "{err}");

    let err = host
        .load_file(
            "sneaky",
            &guest_wasm("sneaky"),
            settings(
                &[Capability::MarketData, Capability::Account],
                Limits::default(),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("capability `orders`"), "{err}");
    // With the grant it loads.
    host.load_file(
        "sneaky",
        &guest_wasm("sneaky"),
        settings(&[Capability::Orders], Limits::default()),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_wit_version_is_refused_with_the_needed_version() {
    let host = host_with(None);
    let err = host
        .load_file(
            "wrong_version",
            &guest_wasm("wrong_version"),
            settings(&Capability::ALL, Limits::default()),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, LoadError::IncompatibleVersion { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("@1.0.0") && msg.contains("ibkr:plugin@0.1.0") && msg.contains("0.1.x"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compatible_minor_version_loads_and_runs() {
    let host = host_with(None);
    let p = host
        .load_file(
            "compat_minor",
            &guest_wasm("compat_minor"),
            settings(&[], Limits::default()),
        )
        .await
        .unwrap();
    assert_eq!(p.wit_version, "0.1.1");
    let out = p
        .run_workflow("version", json!({}), CallContext::default())
        .await
        .unwrap();
    assert_eq!(out["built_against"], "0.1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugin_fails_specifically_and_the_host_keeps_serving() {
    let host = host_with(None);
    let p = Arc::new(
        host.load_file(
            "hostile",
            &guest_wasm("hostile"),
            settings(&[Capability::MarketData], tight()),
        )
        .await
        .unwrap(),
    );
    let ctx = CallContext::default;

    // An infinite loop runs concurrently with normal calls, which stay fast.
    let spinner = {
        let p = p.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            (
                p.run_workflow("spin", json!({}), CallContext::default())
                    .await,
                t.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    let ok = p.run_workflow("ok", json!({"n": 1}), ctx()).await.unwrap();
    assert_eq!(ok["ok"], true);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "ok call took {:?}",
        t.elapsed()
    );
    let (spin, took) = spinner.await.unwrap();
    let spin = spin.unwrap_err();
    assert!(
        matches!(
            spin,
            CallError::Timeout {
                timeout_ms: 400,
                ..
            }
        ),
        "{spin}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "spin stopped after {took:?}"
    );

    let bomb = p.run_workflow("bomb", json!({}), ctx()).await.unwrap_err();
    assert!(
        matches!(bomb, CallError::MemoryLimit { limit_mib: 16, .. }),
        "{bomb}"
    );

    let panic = p.run_workflow("panic", json!({}), ctx()).await.unwrap_err();
    assert!(matches!(panic, CallError::Trap { .. }), "{panic}");

    let huge = p.run_workflow("huge", json!({}), ctx()).await.unwrap_err();
    // 8 MiB of output: either the output check or the memory limit stops it.
    assert!(
        matches!(
            huge,
            CallError::OutputTooLarge { .. } | CallError::MemoryLimit { .. }
        ),
        "{huge}"
    );

    let flood = p.run_workflow("flood", json!({}), ctx()).await.unwrap_err();
    assert!(
        matches!(flood, CallError::HostCallBudget { max: 500, .. }),
        "{flood}"
    );

    let chatty = p.run_workflow("chatty", json!({}), ctx()).await.unwrap();
    assert_eq!(chatty["printed"], 5_000);

    let prompt = p
        .render_prompt("huge_prompt", Default::default(), ctx())
        .await
        .unwrap_err();
    assert!(
        matches!(
            prompt,
            CallError::OutputTooLarge { .. } | CallError::MemoryLimit { .. }
        ),
        "{prompt}"
    );

    // Still serving after all of that.
    let ok = p.run_workflow("ok", json!({"n": 2}), ctx()).await.unwrap();
    assert_eq!(ok["echo"]["n"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigger_output_limit_lets_huge_output_through() {
    let host = host_with(None);
    let limits = Limits {
        memory_mib: 128,
        max_output_kib: 16 * 1024,
        ..Limits::default()
    };
    let p = host
        .load_file(
            "hostile",
            &guest_wasm("hostile"),
            settings(&[Capability::MarketData], limits),
        )
        .await
        .unwrap();
    let out = p
        .run_workflow("huge", json!({}), CallContext::default())
        .await
        .unwrap();
    assert_eq!(out["blob"].as_str().unwrap().len(), 8 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_a_running_call() {
    let host = host_with(None);
    let p = host
        .load_file(
            "hostile",
            &guest_wasm("hostile"),
            settings(&[Capability::MarketData], Limits::default()),
        )
        .await
        .unwrap();
    let call = CallContext::default();
    let cancel = call.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let t = Instant::now();
    let err = p.run_workflow("spin", json!({}), call).await.unwrap_err();
    assert!(matches!(err, CallError::Cancelled { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_scan_caches_and_hot_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = PluginsConfig {
        dir: Some(dir.path().into()),
        ..PluginsConfig::default()
    };
    cfg.plugin.insert(
        "template".into(),
        super::config::PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            ..Default::default()
        },
    );
    cfg.plugin.insert(
        "second".into(),
        super::config::PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            ..Default::default()
        },
    );
    let host = PluginHost::new(cfg.clone(), Arc::new(Disconnected)).unwrap();
    let mut changes = host.subscribe();
    super::testing::install_guest("template", dir.path(), "template");
    super::testing::install_guest("wrong_version", dir.path(), "broken");
    let r = host.scan().await;
    assert_eq!(r.loaded, vec!["template".to_string()]);
    assert_eq!(r.refused.len(), 1);
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    assert!(!host.plugin("template").unwrap().from_cache);
    assert_eq!(host.tools().len(), 1);
    let summaries = host.summaries();
    assert_eq!(
        summaries
            .iter()
            .find(|s| s.name == "broken")
            .unwrap()
            .status,
        "refused"
    );

    // Unchanged directory: nothing happens.
    assert!(!host.scan().await.changed());

    // A second host loads from the precompiled cache.
    let host2 = PluginHost::new(cfg, Arc::new(Disconnected)).unwrap();
    host2.scan().await;
    assert!(host2.plugin("template").unwrap().from_cache);

    // A new plugin appears: tools change, subscribers are told.
    let old = host.plugin("template").unwrap();
    super::testing::install_guest("hostile", dir.path(), "second");
    let r = host.scan().await;
    assert_eq!(r.loaded, vec!["second".to_string()]);
    assert!(changes.has_changed().unwrap());
    assert!(host.tools().iter().any(|t| t.name == "second__spin"));

    // Replaced file: new version swapped in; the old Arc still works for in-flight calls.
    super::testing::install_guest("compat_minor", dir.path(), "template");
    host.scan().await;
    let new = host.plugin("template").unwrap();
    assert_eq!(new.wit_version, "0.1.1");
    assert!(!Arc::ptr_eq(&old, &new));
    assert!(old.tools.iter().any(|t| t.workflow == "quote_spread"));

    // Removed file: plugin gone.
    std::fs::remove_file(dir.path().join("second.wasm")).unwrap();
    let r = host.scan().await;
    assert_eq!(r.removed, vec!["second".to_string()]);
    assert!(!host.tools().iter().any(|t| t.plugin == "second"));
}
