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
        manage_all_orders: false,
    }
}

fn tight() -> Limits {
    Limits {
        memory_mib: 16,
        timeout_ms: 400,
        max_output_kib: 256,
        max_host_calls: 500,
        max_stdio_kib: 16,
        confirm_timeout_ms: 2_000,
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
    assert_eq!(p.wit_version, super::bindings::VERSION_STR);
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
        msg.contains("@1.0.0") && msg.contains("ibkr:plugin@0.1.1") && msg.contains("0.1.x"),
        "{msg}"
    );
}

/// A plugin built against the frozen release 0.1.0 (`wit/versions/0.1.0`) loads and runs on
/// this host after the package gained a minor version (0.1.1 added a function to `orders`,
/// an interface the old plugin imports): its calls reach the host functions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_minor_release_keeps_loading_and_running() {
    assert_eq!(super::bindings::VERSION, (0, 1, 1), "update this test");
    let host = host_with(None);
    // Still subject to the grant.
    let err = host
        .load_file(
            "compat_minor",
            &guest_wasm("compat_minor"),
            settings(&[Capability::MarketData], Limits::default()),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("`ibkr:plugin/orders@0.1.0`"),
        "{err}"
    );
    let p = host
        .load_file(
            "compat_minor",
            &guest_wasm("compat_minor"),
            settings(
                &[Capability::MarketData, Capability::Orders],
                Limits::default(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(p.wit_version, "0.1.0");
    let out = p
        .run_workflow("version", json!({}), CallContext::default())
        .await
        .unwrap();
    assert_eq!(out["built_against"], "0.1.0");
    // The 0.1.0 imports dispatch to the host: no broker here, so not-connected.
    let err = p
        .run_workflow("quote", json!({"symbol": "AAPL"}), CallContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-connected", "{err}");
    let err = p
        .run_workflow(
            "bracket",
            json!({"quantity": 1, "entry_price": 10.0, "take_profit": 11.0, "stop_loss": 9.0}),
            CallContext::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-connected", "{err}");
}

/// A plugin built against a newer minor (one more host function, unused) loads too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_minor_release_loads_when_it_uses_nothing_new() {
    let host = host_with(None);
    let p = host
        .load_file(
            "compat_next",
            &guest_wasm("compat_next"),
            settings(&[], Limits::default()),
        )
        .await
        .unwrap();
    assert_eq!(p.wit_version, "0.1.2");
    let out = p
        .run_workflow("version", json!({}), CallContext::default())
        .await
        .unwrap();
    assert_eq!(out["built_against"], "next-minor");
}

fn wit_lines(dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wit"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("package "))
                .map(String::from)
                .collect();
            (f.file_name().unwrap().to_string_lossy().into_owned(), lines)
        })
        .collect()
}

/// Every released version is frozen under `wit/versions/<version>/`, the current one is
/// identical to `wit/`, and within a compatible line each release only adds to the previous
/// ones (every definition line of an older release is still there, in order).
#[test]
fn released_wit_versions_are_frozen_and_additive() {
    let wit = super::testing::repo_root().join("wit");
    let current = wit.join("versions").join(super::bindings::VERSION_STR);
    for f in ["plugin.wit", "types.wit"] {
        assert_eq!(
            std::fs::read_to_string(wit.join(f)).unwrap(),
            std::fs::read_to_string(current.join(f)).unwrap(),
            "wit/{f} differs from its frozen copy in {}",
            current.display()
        );
    }
    let now = wit_lines(&wit);
    let mut older = 0;
    for entry in std::fs::read_dir(wit.join("versions")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("plugin.wit")).unwrap();
        assert!(
            text.contains(&format!("package ibkr:plugin@{name};")),
            "wit/versions/{name} declares another version"
        );
        let v = super::runtime::parse_interface_name(&format!("a:b/c@{name}"))
            .and_then(|(_, _, v)| v)
            .unwrap();
        if !super::runtime::version_compatible(v, super::bindings::VERSION) {
            continue;
        }
        older += 1;
        for ((file, old), (_, new)) in wit_lines(&dir).iter().zip(&now) {
            let mut it = new.iter();
            for line in old {
                assert!(
                    it.any(|l| l == line),
                    "{file}: `{line}` of release {name} is changed or gone: not additive"
                );
            }
        }
    }
    assert!(older >= 2, "0.1.0 and the current release are frozen");
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

    // An infinite loop runs concurrently with normal calls: `confirm_spin` asks for a
    // confirmation (which tells this test the call is running) and then spins until
    // cancelled. The `ok` call must complete while the spinner is still running.
    let (asked_tx, asked_rx) = tokio::sync::oneshot::channel();
    let spin_ctx = CallContext {
        confirmer: Some(Arc::new(SignallingConfirmer(parking_lot::Mutex::new(
            Some(asked_tx),
        )))),
        ..CallContext::default()
    };
    let cancel = spin_ctx.cancel.clone();
    let long = Arc::new(
        host.load_file(
            "hostile",
            &guest_wasm("hostile"),
            settings(
                &[Capability::MarketData],
                Limits {
                    timeout_ms: 600_000,
                    ..tight()
                },
            ),
        )
        .await
        .unwrap(),
    );
    let spinner = {
        let long = long.clone();
        tokio::spawn(async move { long.run_workflow("confirm_spin", json!({}), spin_ctx).await })
    };
    asked_rx
        .await
        .expect("confirm_spin asked for its confirmation");
    // The spinner runs until cancelled (its deadline is 10 min): a host that waited for it
    // would not answer, so give up (and fail) after a generous minute.
    let ok = tokio::time::timeout(
        Duration::from_secs(60),
        p.run_workflow("ok", json!({"n": 1}), ctx()),
    )
    .await
    .expect("a call while another plugin call spins returns")
    .unwrap();
    assert_eq!(ok["ok"], true);
    assert!(
        !spinner.is_finished(),
        "the spinning call ended before the concurrent call returned: {:?}",
        spinner.await
    );
    cancel.cancel();
    let cancelled = spinner.await.unwrap().unwrap_err();
    assert!(
        matches!(cancelled, CallError::Cancelled { .. }),
        "{cancelled}"
    );

    // The deadline stops an endless loop (a generous bound: the limit is 400 ms; without
    // the deadline the call would never end).
    let t = Instant::now();
    let spin = p.run_workflow("spin", json!({}), ctx()).await.unwrap_err();
    let took = t.elapsed();
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
        took < Duration::from_secs(20),
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
    // Cancel once the call is running (it asks for a confirmation, then spins). Without
    // cancellation the 30 s deadline would end it with a timeout error instead.
    let (asked_tx, asked_rx) = tokio::sync::oneshot::channel();
    let call = CallContext {
        confirmer: Some(Arc::new(SignallingConfirmer(parking_lot::Mutex::new(
            Some(asked_tx),
        )))),
        ..CallContext::default()
    };
    let cancel = call.cancel.clone();
    tokio::spawn(async move {
        if asked_rx.await.is_ok() {
            cancel.cancel();
        }
    });
    let err = p
        .run_workflow("confirm_spin", json!({}), call)
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Cancelled { .. }), "{err}");
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
    super::testing::install_guest("compat_next", dir.path(), "template");
    host.scan().await;
    let new = host.plugin("template").unwrap();
    assert_eq!(new.wit_version, "0.1.2");
    assert!(!Arc::ptr_eq(&old, &new));
    assert!(old.tools.iter().any(|t| t.workflow == "quote_spread"));

    // Removed file: plugin gone.
    std::fs::remove_file(dir.path().join("second.wasm")).unwrap();
    let r = host.scan().await;
    assert_eq!(r.removed, vec!["second".to_string()]);
    assert!(!host.tools().iter().any(|t| t.plugin == "second"));
}

/// Answers every confirmation with `answer` after `delay`.
struct SlowConfirmer {
    delay: Duration,
    answer: bool,
}

impl super::Confirmer for SlowConfirmer {
    fn confirm(
        &self,
        _message: String,
    ) -> futures::future::BoxFuture<'_, super::backend::ApiResult<bool>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            Ok(self.answer)
        })
    }
}

/// Answers `true` at once and tells the test (once) that a confirmation was asked for.
struct SignallingConfirmer(parking_lot::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);

impl super::Confirmer for SignallingConfirmer {
    fn confirm(
        &self,
        _message: String,
    ) -> futures::future::BoxFuture<'_, super::backend::ApiResult<bool>> {
        if let Some(tx) = self.0.lock().take() {
            let _ = tx.send(());
        }
        Box::pin(async { Ok(true) })
    }
}

fn confirming(delay: Duration) -> CallContext {
    CallContext {
        confirmer: Some(Arc::new(SlowConfirmer {
            delay,
            answer: true,
        })),
        ..CallContext::default()
    }
}

/// The user's think time does not count against the deadline, the deadline still stops the
/// plugin once it runs again, and the wait has its own bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_wait_is_outside_the_deadline_but_bounded() {
    let host = host_with(None);
    let limits = Limits {
        confirm_timeout_ms: 1_500,
        ..tight()
    };
    let p = host
        .load_file(
            "hostile",
            &guest_wasm("hostile"),
            settings(&[Capability::MarketData], limits),
        )
        .await
        .unwrap();
    // Two answers of 500 ms each: 1 s of waiting against a 400 ms deadline.
    let t = Instant::now();
    let out = p
        .run_workflow(
            "confirm",
            json!({"times": 2}),
            confirming(Duration::from_millis(500)),
        )
        .await
        .unwrap();
    assert_eq!(out["answers"], json!([true, true]));
    assert!(t.elapsed() >= Duration::from_millis(1_000));

    // After the answer the deadline runs again: an endless loop is still stopped.
    let t = Instant::now();
    let err = p
        .run_workflow(
            "confirm_spin",
            json!({}),
            confirming(Duration::from_millis(500)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::Timeout {
                timeout_ms: 400,
                ..
            }
        ),
        "{err}"
    );
    // Generous: without the deadline the loop would never end.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());

    // A user who never answers: the confirmation budget (1.5 s for the whole call) runs out
    // and the plugin sees `declined`; the call does not hang.
    let t = Instant::now();
    let err = p
        .run_workflow(
            "confirm",
            json!({"times": 1}),
            confirming(Duration::from_secs(3600)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "declined", "{err}");
    assert!(err.to_string().contains("1500 ms"), "{err}");
    let took = t.elapsed();
    // The bound is the feature: the budget (1.5 s) ends the wait, not the answer (1 h away).
    assert!(
        took >= Duration::from_millis(1_400) && took < Duration::from_secs(60),
        "{took:?}"
    );

    // The budget is per call, for all confirmations together: 3 x 700 ms > 1.5 s.
    let err = p
        .run_workflow(
            "confirm",
            json!({"times": 3}),
            confirming(Duration::from_millis(700)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "declined", "{err}");
}

/// A plugin may modify/cancel only its own orders: the ownership check comes before the
/// broker (here: none, so an allowed call reports not-connected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_cannot_touch_orders_they_did_not_place() {
    let host = host_with(None);
    let load = |manage_all_orders: bool| {
        let host = host.clone();
        async move {
            let mut s = settings(&[Capability::Orders], Limits::default());
            s.manage_all_orders = manage_all_orders;
            host.load_file("sneaky", &guest_wasm("sneaky"), s)
                .await
                .unwrap()
        }
    };
    let p = load(false).await;
    for (wf, action) in [("cancel", "cancel"), ("modify", "modify")] {
        let err = p
            .run_workflow(
                wf,
                json!({"order_id": 4242, "limit_price": 1.0}),
                CallContext::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "permission-denied", "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("{action} order 4242")) && msg.contains("manage_all_orders"),
            "{msg}"
        );
    }
    // The operator's setting lets the call through to the broker.
    let p = load(true).await;
    let err = p
        .run_workflow("cancel", json!({"order_id": 4242}), CallContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-connected", "{err}");
}
