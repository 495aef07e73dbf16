//! Helpers for tests and benchmarks: guest plugin components, built on demand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// The repository root (parent of `host/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Path of a built guest component `plugins/target/wasm32-wasip2/release/<crate>.wasm`.
///
/// The guest workspace package is built (one `cargo build`) only when the component is missing
/// or older than one of its sources: the files cargo's dep-info (`<crate>.d` next to the
/// component) lists, plus the guest workspace's `Cargo.toml` and `Cargo.lock`. With
/// `IBKR_MCP_SKIP_GUEST_BUILD` set (scripts/test.sh, after building every plugin) an existing
/// component is used as it is. `package` is the Cargo package name (e.g. `hostile`).
pub fn guest_wasm(package: &str) -> PathBuf {
    let root = repo_root();
    let file = package.replace('-', "_");
    let release = root.join("plugins/target/wasm32-wasip2/release");
    let out = release.join(format!("{file}.wasm"));
    let _g = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let skip = std::env::var_os("IBKR_MCP_SKIP_GUEST_BUILD").is_some();
    if !(out.exists() && (skip || up_to_date(&root, &out, &release.join(format!("{file}.d"))))) {
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

/// Whether `out` is newer than every source listed in its dep-info file `dep_info` (and the
/// guest workspace manifest and lock file). A missing or unreadable dep-info file, or a listed
/// source that no longer exists, counts as out of date. A dep-info written in another checkout
/// (a copied `plugins/target`) names that checkout's files: they are read from this one.
fn up_to_date(root: &Path, out: &Path, dep_info: &Path) -> bool {
    let Some(built) = mtime(out) else {
        return false;
    };
    let Ok(deps) = std::fs::read_to_string(dep_info) else {
        return false;
    };
    let (Some(target), mut sources) = (dep_info_target(&deps), dep_info_sources(&deps)) else {
        return false;
    };
    if sources.is_empty() {
        return false;
    }
    // The checkout the dep-info was written in: the target's path up to `plugins/target/`.
    let built_in = target
        .to_str()
        .and_then(|t| t.find("plugins/target/").map(|i| PathBuf::from(&t[..i])));
    if let Some(other) = built_in.filter(|o| o.as_path() != root) {
        for s in &mut sources {
            if let Ok(rel) = s.strip_prefix(&other) {
                *s = root.join(rel);
            }
        }
    }
    sources.push(root.join("plugins/Cargo.toml"));
    sources.push(root.join("plugins/Cargo.lock"));
    sources.iter().all(|s| mtime(s).is_some_and(|t| t <= built))
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The target of the first rule of a dep-info file.
fn dep_info_target(text: &str) -> Option<PathBuf> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut prev = '\0';
    for (i, c) in line.char_indices() {
        if c == ':' && prev != '\\' && line[i + 1..].starts_with(' ') {
            return Some(PathBuf::from(line[..i].replace("\\ ", " ")));
        }
        prev = c;
    }
    None
}

/// The prerequisites of the first rule of a Makefile-style dep-info file
/// (`target: src1 src2 ...`, spaces in paths escaped as `\ `).
fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    // The target ends at the first unescaped ": ".
    let mut prev = '\0';
    let mut split = None;
    for (i, c) in line.char_indices() {
        if c == ':' && prev != '\\' && line[i + 1..].starts_with(' ') {
            split = Some(i + 1);
            break;
        }
        prev = c;
    }
    let Some(start) = split else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line[start..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            ' ' => {
                if !cur.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut cur)));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(PathBuf::from(cur));
    }
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

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn dep_info_lists_the_sources_of_the_first_rule() {
        let d = "/t/release/hostile.wasm: /r/sdk/src/lib.rs /r/my\\ dir/a.rs /r/wit/plugin.wit\n\n\
                 /r/sdk/src/lib.rs:\n";
        assert_eq!(
            dep_info_sources(d),
            vec![
                PathBuf::from("/r/sdk/src/lib.rs"),
                PathBuf::from("/r/my dir/a.rs"),
                PathBuf::from("/r/wit/plugin.wit"),
            ]
        );
        assert!(dep_info_sources("").is_empty());
    }

    #[test]
    fn a_component_older_than_a_source_is_out_of_date() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("plugins")).unwrap();
        let src = root.join("a.rs");
        let out = root.join("a.wasm");
        let d = root.join("a.d");
        let at = |p: &Path, secs: u64| {
            let f = std::fs::File::options().write(true).open(p).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .unwrap();
        };
        for p in [
            &src,
            &out,
            &root.join("plugins/Cargo.toml"),
            &root.join("plugins/Cargo.lock"),
        ] {
            std::fs::write(p, "x").unwrap();
            at(p, 1_000);
        }
        std::fs::write(&d, format!("{}: {}\n", out.display(), src.display())).unwrap();
        at(&out, 2_000);
        assert!(up_to_date(root, &out, &d));
        at(&src, 3_000);
        assert!(!up_to_date(root, &out, &d), "source edited after the build");
        at(&src, 1_000);
        at(&root.join("plugins/Cargo.lock"), 3_000);
        assert!(
            !up_to_date(root, &out, &d),
            "lock file changed after the build"
        );
        at(&root.join("plugins/Cargo.lock"), 1_000);
        std::fs::remove_file(&src).unwrap();
        assert!(!up_to_date(root, &out, &d), "a listed source is gone");
        assert!(
            !up_to_date(root, &out, &root.join("missing.d")),
            "no dep-info"
        );
    }

    #[test]
    fn a_dep_info_from_another_checkout_is_read_against_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("here");
        let rel = "plugins/target/wasm32-wasip2/release";
        std::fs::create_dir_all(root.join(rel)).unwrap();
        std::fs::create_dir_all(root.join("plugins/sdk")).unwrap();
        let out = root.join(rel).join("a.wasm");
        let d = root.join(rel).join("a.d");
        let src = root.join("plugins/sdk/lib.rs");
        for p in [
            &src,
            &out,
            &root.join("plugins/Cargo.toml"),
            &root.join("plugins/Cargo.lock"),
        ] {
            std::fs::write(p, "x").unwrap();
        }
        std::fs::write(
            &d,
            format!("/elsewhere/{rel}/a.wasm: /elsewhere/plugins/sdk/lib.rs\n"),
        )
        .unwrap();
        let f = std::fs::File::options().write(true).open(&src).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH).unwrap();
        assert!(
            up_to_date(&root, &out, &d),
            "this checkout's source is older"
        );
        let f = std::fs::File::options().write(true).open(&src).unwrap();
        f.set_modified(SystemTime::now() + std::time::Duration::from_secs(60))
            .unwrap();
        assert!(
            !up_to_date(&root, &out, &d),
            "this checkout's source is newer"
        );
    }
}
