//! Append-only, hash-chained JSONL audit log of every order action.
//!
//! Each line is one [`AuditRecord`]; `hash` = SHA-256 over `prevHash` and the record's other
//! fields, so editing or removing a line breaks the chain ([`verify_chain`]).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const KEEP_IN_MEMORY: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub seq: u64,
    pub time: String,
    /// e.g. `place_requested`, `place_refused`, `placed`, `place_failed`, `cancel_requested`, ...
    pub event: String,
    /// `tool:<name>` or `plugin:<name>`.
    pub origin: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

fn digest(
    prev: &str,
    seq: u64,
    time: &str,
    event: &str,
    origin: &str,
    details: &serde_json::Value,
) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(seq.to_string().as_bytes());
    h.update(time.as_bytes());
    h.update(event.as_bytes());
    h.update(origin.as_bytes());
    h.update(details.to_string().as_bytes());
    hex::encode(h.finalize())
}

struct State {
    seq: u64,
    last_hash: String,
    file: Option<std::fs::File>,
    recent: VecDeque<AuditRecord>,
}

/// The audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    path: Option<PathBuf>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish()
    }
}

impl AuditLog {
    /// Keep records in memory only.
    pub fn in_memory() -> Self {
        AuditLog {
            path: None,
            state: Arc::new(Mutex::new(State {
                seq: 0,
                last_hash: GENESIS.into(),
                file: None,
                recent: VecDeque::new(),
            })),
        }
    }

    /// Open (or create) a JSONL log, continuing its hash chain.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let (mut seq, mut last_hash) = (0u64, GENESIS.to_string());
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty())
        {
            let rec: AuditRecord = serde_json::from_str(last).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "audit log {} has an unreadable last line: {e}",
                        path.display()
                    ),
                )
            })?;
            seq = rec.seq;
            last_hash = rec.hash;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(AuditLog {
            path: Some(path),
            state: Arc::new(Mutex::new(State {
                seq,
                last_hash,
                file: Some(file),
                recent: VecDeque::new(),
            })),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Append a record.
    pub fn append(&self, event: &str, origin: &str, details: serde_json::Value) -> AuditRecord {
        let mut st = self.state.lock();
        st.seq += 1;
        let time = chrono::Utc::now().to_rfc3339();
        let hash = digest(&st.last_hash, st.seq, &time, event, origin, &details);
        let rec = AuditRecord {
            seq: st.seq,
            time,
            event: event.to_string(),
            origin: origin.to_string(),
            details,
            prev_hash: st.last_hash.clone(),
            hash: hash.clone(),
        };
        st.last_hash = hash;
        if let Some(f) = st.file.as_mut() {
            let line = serde_json::to_string(&rec).unwrap_or_default();
            if let Err(e) = writeln!(f, "{line}").and_then(|_| f.flush()) {
                tracing::error!(error = %e, "cannot write audit log");
            }
        }
        st.recent.push_back(rec.clone());
        if st.recent.len() > KEEP_IN_MEMORY {
            st.recent.pop_front();
        }
        rec
    }

    /// Every record of the log, oldest first: the whole file when the log has one (lines that
    /// do not parse are skipped with a warning), else the records kept in memory.
    pub fn records(&self) -> std::io::Result<Vec<AuditRecord>> {
        let Some(path) = &self.path else {
            return Ok(self.recent());
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    line = i + 1,
                    "skipping an unreadable audit record: {e}"
                ),
            }
        }
        Ok(out)
    }

    /// The most recent records (up to 1000), oldest first.
    pub fn recent(&self) -> Vec<AuditRecord> {
        self.state.lock().recent.iter().cloned().collect()
    }
}

/// Verify a JSONL audit log's hash chain; returns the number of records.
pub fn verify_chain(text: &str) -> Result<usize, String> {
    let mut prev = GENESIS.to_string();
    let mut n = 0;
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let r: AuditRecord =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if r.prev_hash != prev {
            return Err(format!("line {}: prevHash does not match", i + 1));
        }
        if digest(
            &r.prev_hash,
            r.seq,
            &r.time,
            &r.event,
            &r.origin,
            &r.details,
        ) != r.hash
        {
            return Err(format!("line {}: hash mismatch", i + 1));
        }
        prev = r.hash;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_survives_reopen_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/audit.jsonl");
        let log = AuditLog::open(&p).unwrap();
        log.append("placed", "tool:x", serde_json::json!({"q": 1}));
        drop(log);
        let log = AuditLog::open(&p).unwrap();
        log.append("placed", "plugin:y", serde_json::json!({"q": 2}));
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(verify_chain(&text).unwrap(), 2);
        let bad = text.replace("\"q\":2", "\"q\":3");
        assert!(verify_chain(&bad).is_err());
        let all = log.records().unwrap();
        assert_eq!(
            all.iter().map(|r| r.origin.as_str()).collect::<Vec<_>>(),
            ["tool:x", "plugin:y"]
        );
        assert_eq!(all[1].details, serde_json::json!({"q": 2}));
    }

    fn lines(recs: &[AuditRecord]) -> String {
        recs.iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect()
    }

    #[test]
    fn each_record_links_to_the_previous_one_from_genesis() {
        let log = AuditLog::in_memory();
        let a = log.append("place_requested", "tool:t", serde_json::json!({"n": 1}));
        let b = log.append("placed", "tool:t", serde_json::json!({"n": 2}));
        let c = log.append("cancel_requested", "plugin:p", serde_json::json!({"n": 3}));
        assert_eq!((a.seq, b.seq, c.seq), (1, 2, 3));
        assert_eq!(a.prev_hash, GENESIS);
        assert_eq!(b.prev_hash, a.hash);
        assert_eq!(c.prev_hash, b.hash);
        for r in [&a, &b, &c] {
            assert_eq!(r.hash.len(), 64, "{r:?}");
            assert_eq!(
                r.hash,
                digest(
                    &r.prev_hash,
                    r.seq,
                    &r.time,
                    &r.event,
                    &r.origin,
                    &r.details
                )
            );
            assert!(
                chrono::DateTime::parse_from_rfc3339(&r.time).is_ok(),
                "{r:?}"
            );
        }
        assert_ne!(a.hash, b.hash);
        assert_eq!(log.records().unwrap(), [a, b, c]);
        assert_eq!(verify_chain(&lines(&log.recent())), Ok(3));
    }

    #[test]
    fn in_memory_log_keeps_the_last_thousand_records() {
        let log = AuditLog::in_memory();
        assert_eq!(log.path(), None);
        for i in 0..(KEEP_IN_MEMORY + 5) {
            log.append("placed", "tool:t", serde_json::json!({ "i": i }));
        }
        let recent = log.recent();
        assert_eq!(recent.len(), KEEP_IN_MEMORY);
        assert_eq!(recent[0].seq, 6);
        assert_eq!(recent.last().unwrap().seq, (KEEP_IN_MEMORY + 5) as u64);
        assert_eq!(log.records().unwrap(), recent);
        // Clones share one log.
        let clone = log.clone();
        let r = clone.append("placed", "tool:t", serde_json::json!({}));
        assert_eq!(r.seq, (KEEP_IN_MEMORY + 6) as u64);
        assert_eq!(log.recent().last(), Some(&r));
    }

    #[test]
    fn a_file_log_writes_each_record_at_once_and_reopen_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nested/dir/audit.jsonl");
        let log = AuditLog::open(&p).unwrap();
        assert_eq!(log.path(), Some(p.as_path()));
        let first = log.append("placed", "tool:x", serde_json::json!({"q": 1}));
        // Written and flushed before append returns.
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, lines(std::slice::from_ref(&first)));
        drop(log);
        let log = AuditLog::open(&p).unwrap();
        assert!(
            log.recent().is_empty(),
            "a reopened log starts with no recent records"
        );
        let second = log.append("cancelled", "plugin:y", serde_json::json!({"q": 2}));
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev_hash, first.hash);
        assert_eq!(log.recent(), std::slice::from_ref(&second));
        // records() reads the whole file, across the reopen.
        assert_eq!(log.records().unwrap(), [first, second]);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(verify_chain(&text), Ok(2));
    }

    #[test]
    fn reopen_ignores_trailing_blank_lines_and_refuses_an_unreadable_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&p).unwrap();
        let first = log.append("placed", "tool:x", serde_json::json!({}));
        drop(log);
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap() + "\n  \n").unwrap();
        let log = AuditLog::open(&p).unwrap();
        assert_eq!(
            log.append("placed", "tool:x", serde_json::json!({}))
                .prev_hash,
            first.hash
        );
        drop(log);
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap() + "{not json\n").unwrap();
        let e = AuditLog::open(&p).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "audit log {} has an unreadable last line",
                p.display()
            )),
            "{msg}"
        );
    }

    #[test]
    fn records_skip_unreadable_lines_and_a_deleted_file_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&p).unwrap();
        let a = log.append("placed", "tool:x", serde_json::json!({}));
        {
            let mut st = log.state.lock();
            let f = st.file.as_mut().unwrap();
            writeln!(f, "garbage").unwrap();
        }
        let b = log.append("placed", "tool:x", serde_json::json!({}));
        assert_eq!(log.records().unwrap(), [a, b]);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(log.records().unwrap(), []);
    }

    #[test]
    fn verify_chain_finds_edited_removed_and_reordered_lines() {
        let log = AuditLog::in_memory();
        for i in 0..3 {
            log.append("placed", "tool:t", serde_json::json!({ "i": i }));
        }
        let recs = log.recent();
        assert_eq!(verify_chain(&lines(&recs)), Ok(3));
        assert_eq!(verify_chain(""), Ok(0));
        // Edited field (the hash no longer matches).
        let mut edited = recs.clone();
        edited[1].origin = "tool:other".into();
        assert_eq!(
            verify_chain(&lines(&edited)),
            Err("line 2: hash mismatch".into())
        );
        // Edited and re-hashed: the next record's link breaks.
        let r = &mut edited[1];
        r.hash = digest(
            &r.prev_hash,
            r.seq,
            &r.time,
            &r.event,
            &r.origin,
            &r.details,
        );
        assert_eq!(
            verify_chain(&lines(&edited)),
            Err("line 3: prevHash does not match".into())
        );
        // A removed first / middle line.
        assert_eq!(
            verify_chain(&lines(&recs[1..])),
            Err("line 1: prevHash does not match".into())
        );
        let gap = [recs[0].clone(), recs[2].clone()];
        assert_eq!(
            verify_chain(&lines(&gap)),
            Err("line 2: prevHash does not match".into())
        );
        let swapped = [recs[1].clone(), recs[0].clone(), recs[2].clone()];
        assert_eq!(
            verify_chain(&lines(&swapped)),
            Err("line 1: prevHash does not match".into())
        );
        let garbage = lines(&recs[..1]) + "{}\n";
        let e = verify_chain(&garbage).unwrap_err();
        assert!(e.starts_with("line 2: missing field"), "{e}");
    }

    #[test]
    fn records_of_an_in_memory_log_are_the_recent_ones() {
        let log = AuditLog::in_memory();
        log.append("placed", "plugin:y", serde_json::json!({}));
        assert_eq!(log.records().unwrap().len(), 1);
    }
}
