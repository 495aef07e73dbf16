//! Wire framing, handshake and version negotiation, and the per-connection codec seam.
//!
//! # Connection lifecycle
//! 1. The client sends the raw prefix `API\0` followed by one length-prefixed frame
//!    `"v{min}..{max}"` (ib_async may append `" " + connectOptions`).
//! 2. [`negotiate`] picks the codec family and the server version:
//!    - client max >= 213 → protobuf mode, server version `min(max, 226)`;
//!    - client max in 157..=200 → text mode, server version `min(max, 178)`;
//!    - anything else → the server closes the connection without answering.
//! 3. The server answers one length-prefixed *text* frame `"<ver>\0<yyyymmdd hh:mm:ss TZ>\0"`
//!    (never with a binary message id, even in protobuf mode) — see [`handshake_reply`].
//! 4. Every later message in both directions is `[u32 BE len][body]`, `len <= MAX_FRAME`.
//!    The connection loop builds one [`Codec`] per connection with [`make_codec`] and hands it
//!    each frame body; the first decoded request must be [`Request::StartApi`].
//!
//! # Codec seam (for `crate::text`)
//! A codec turns frame bodies into [`Request`]s and [`Response`]s into complete frames. The
//! protobuf codec lives in `crate::proto::ProtoCodec`; the text codec is
//! `crate::text::TextCodec::new(server_version)`. To plug the text codec in, add `pub mod text;`
//! to `lib.rs` and return it from the `Mode::Text` arm of [`make_codec`] (one line). Until then
//! text-mode clients are answered with the handshake reply and then closed cleanly.

use crate::api::{Request, Response, errors};

/// Largest frame body accepted or produced (ibapi's limit: 0xFFFFFF).
pub const MAX_FRAME: usize = 0x00FF_FFFF;
/// Protobuf server versions served.
pub const PROTO_MIN_VERSION: i32 = 213;
pub const PROTO_MAX_VERSION: i32 = 226;
/// Text (classic) server versions served.
pub const TEXT_MIN_VERSION: i32 = 157;
pub const TEXT_MAX_VERSION: i32 = 178;
/// Raw prefix a client sends before the version frame.
pub const API_PREFIX: &[u8; 4] = b"API\0";
/// Server versions at or above this put a binary `i32 BE` message id in front of every body.
pub const BINARY_MSG_ID_VERSION: i32 = 201;
/// Protobuf message ids are the classic id plus this offset.
pub const PROTOBUF_MSG_ID_OFFSET: i32 = 200;

/// Which encoding a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Protobuf payloads (server versions 213..=226), e.g. `ibapi` 5.x.
    Proto,
    /// Classic NUL-separated text (server versions <= 178), e.g. `ib_async`.
    Text,
}

/// Outcome of version negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub mode: Mode,
    pub server_version: i32,
}

/// Parse the client's version frame (`"v100..187"`, `"v213..226 +PACEAPI"`, `"v176"`) and pick a
/// mode and server version. `None` means the client cannot be served: close the connection.
pub fn negotiate(version_frame: &[u8]) -> Option<Negotiated> {
    let text = std::str::from_utf8(version_frame).ok()?;
    let range = text.trim().split(' ').next()?.strip_prefix('v')?;
    let (min, max) = match range.split_once("..") {
        Some((a, b)) => (a.parse::<i32>().ok()?, b.parse::<i32>().ok()?),
        None => {
            let v = range.parse::<i32>().ok()?;
            (v, v)
        }
    };
    if min > max || min < 1 {
        return None;
    }
    if max >= PROTO_MIN_VERSION {
        let v = max.min(PROTO_MAX_VERSION);
        (v >= min).then_some(Negotiated {
            mode: Mode::Proto,
            server_version: v,
        })
    } else if (TEXT_MIN_VERSION..=200).contains(&max) {
        let v = max.min(TEXT_MAX_VERSION);
        (v >= min).then_some(Negotiated {
            mode: Mode::Text,
            server_version: v,
        })
    } else {
        None
    }
}

/// The server's handshake answer: a complete frame `"<ver>\0<time>\0"`, where `time` is the
/// connection time, e.g. `"20260105 22:20:39 UTC"`.
pub fn handshake_reply(server_version: i32, time: &str, out: &mut Vec<u8>) {
    put_frame(out, |b| {
        b.extend_from_slice(server_version.to_string().as_bytes());
        b.push(0);
        b.extend_from_slice(time.as_bytes());
        b.push(0);
    });
}

/// Append one frame `[u32 BE len][body]` to `out`; `body` writes the body.
pub fn put_frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Why a frame could not be turned into a [`Request`]. The connection loop reports it to the
/// client (see [`DecodeError::to_error_response`]) and keeps the connection unless
/// [`DecodeError::is_fatal`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Empty body or a body too short to carry a message id.
    #[error("empty or truncated message")]
    Truncated,
    /// A message id the protocol does not define.
    #[error("unknown message id {0}")]
    UnknownMessage(i32),
    /// A known message whose fields could not be parsed.
    #[error("malformed message {msg_id}: {detail}")]
    Malformed { msg_id: i32, detail: String },
    /// The first message was not startApi (or startApi came twice).
    #[error("unexpected message {0} before startApi")]
    NotStarted(i32),
}

impl DecodeError {
    /// TWS error code for this decode failure.
    pub fn code(&self) -> i32 {
        errors::BAD_MESSAGE
    }

    /// Whether the connection should be closed after reporting (TWS drops clients that send
    /// garbage before startApi).
    pub fn is_fatal(&self) -> bool {
        matches!(self, DecodeError::NotStarted(_))
    }

    /// The error message sent to the client.
    pub fn to_error_response(&self, time: i64) -> Response {
        let message = match self {
            DecodeError::UnknownMessage(id) => format!("Unknown message id: {id}"),
            DecodeError::Malformed { msg_id, detail } => {
                format!("Bad Message (msg id {msg_id}): {detail}")
            }
            DecodeError::Truncated => "Bad Message Length".to_string(),
            DecodeError::NotStarted(id) => {
                format!("Fatal Error: message {id} received before startApi")
            }
        };
        Response::Error {
            id: -1,
            time,
            code: self.code(),
            message,
            advanced_order_reject_json: String::new(),
        }
    }
}

/// One connection's message codec (chosen after the handshake).
pub trait Codec: Send + 'static {
    /// Decode one frame body (without the length prefix).
    fn decode(&mut self, frame: &[u8]) -> Result<Request, DecodeError>;
    /// Append the encoding of `resp` to `out` as zero or more *complete frames* (each with its
    /// `[u32 BE len]` prefix — use [`put_frame`]). A response the negotiated version cannot
    /// express may be dropped (zero frames).
    fn encode(&self, resp: &Response, out: &mut Vec<u8>);
    /// The negotiated server version.
    fn server_version(&self) -> i32;
}

/// Build the codec for a negotiated connection. `None` means this build cannot serve the mode
/// (the server then closes the connection after the handshake reply).
pub fn make_codec(n: Negotiated) -> Option<Box<dyn Codec>> {
    match n.mode {
        Mode::Proto => Some(Box::new(crate::proto::ProtoCodec::new(n.server_version))),
        Mode::Text => Some(Box::new(crate::text::TextCodec::new(n.server_version))),
    }
}

/// Format a time the way TWS does in the handshake and in historical-data end markers:
/// `"yyyymmdd hh:mm:ss UTC"`.
pub fn format_tws_time(epoch_secs: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_secs, 0)
        .unwrap_or_default()
        .format("%Y%m%d %H:%M:%S UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let p = |s: &str| negotiate(s.as_bytes());
        assert_eq!(
            p("v213..226"),
            Some(Negotiated {
                mode: Mode::Proto,
                server_version: 226
            })
        );
        assert_eq!(p("v213..230").unwrap().server_version, 226);
        assert_eq!(
            p("v157..178 +PACEAPI"),
            Some(Negotiated {
                mode: Mode::Text,
                server_version: 178
            })
        );
        assert_eq!(p("v100..187").unwrap().server_version, 178);
        assert_eq!(p("v100..187").unwrap().mode, Mode::Text);
        assert_eq!(p("v176").unwrap().server_version, 176);
        assert_eq!(p("v100..150"), None);
        assert_eq!(p("v190..200"), None);
        assert_eq!(p("garbage"), None);
        assert_eq!(p("v5..3"), None);
        assert_eq!(negotiate(&[0xff, 0xfe]), None);
    }

    #[test]
    fn framing() {
        let mut out = Vec::new();
        handshake_reply(226, "20260101 00:00:00 UTC", &mut out);
        assert_eq!(&out[..4], &(out.len() as u32 - 4).to_be_bytes());
        assert_eq!(&out[4..8], b"226\0");
    }
}
