//! Helpers for tests and benchmarks: build guest plugins on demand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// The repository root (parent of `host/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Path of a built guest component `plugins/target/wasm32-wasip2/release/<crate>.wasm`,
/// building the guest workspace package first when the file is missing or older than its
/// sources. `package` is the Cargo package name (e.g. `hostile`, `template`).
pub fn guest_wasm(package: &str) -> PathBuf {
    let root = repo_root();
    let file = package.replace('-', "_");
    let out = root
        .join("plugins/target/wasm32-wasip2/release")
        .join(format!("{file}.wasm"));
    let _g = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("IBKR_MCP_SKIP_GUEST_BUILD").is_none() || !out.exists() {
        let status = Command::new("cargo")
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                package,
            ])
            .arg("--manifest-path")
            .arg(root.join("plugins/Cargo.toml"))
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo to build a guest plugin");
        assert!(status.success(), "building guest plugin {package} failed");
    }
    assert!(out.exists(), "{} missing after build", out.display());
    out
}

/// Copy a built guest into `dir` as `<name>.wasm`.
pub fn install_guest(package: &str, dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(format!("{name}.wasm"));
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::copy(guest_wasm(package), &tmp).expect("copy guest");
    std::fs::rename(&tmp, &dst).expect("install guest");
    dst
}
