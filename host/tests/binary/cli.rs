//! CLI: --print-config (effective configuration, secrets redacted) and invalid settings
//! failing at start with the setting's name.

use std::process::Command;

fn ibkr_mcp(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ibkr-mcp"));
    c.current_dir(dir)
        .env_remove("TWS_HOST")
        .env_remove("TWS_PORT")
        .env_remove("SERVER_PORT")
        .env_remove("MCP_BEARER_TOKENS");
    c
}

#[test]
fn print_config_merges_env_file_flags_and_redacts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "TWS_PORT=4002\nSERVER_PORT=9001\n").unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[server]\nbearer_tokens = [\"very-secret-token-123456\"]\n[guardrails]\nmax_order_quantity = 5.0\n",
    )
    .unwrap();
    let out = ibkr_mcp(dir.path())
        .args(["--config", "c.toml", "--port", "9100", "--print-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("port = 4002"), "{s}");
    assert!(s.contains("port = 9100"), "{s}");
    assert!(s.contains("max_order_quantity = 5.0"), "{s}");
    assert!(!s.contains("very-secret"), "{s}");
    assert!(s.contains("<redacted>"), "{s}");
}

#[test]
fn invalid_settings_fail_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = ibkr_mcp(dir.path())
        .env("TWS_PORT", "seventy")
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TWS_PORT"));
    std::fs::write(
        dir.path().join("bad.toml"),
        "[server]\ncors_origins = [\"*\"]\n",
    )
    .unwrap();
    let out = ibkr_mcp(dir.path())
        .args(["--config", "bad.toml", "--print-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.cors_origins"));
}
