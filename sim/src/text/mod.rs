//! Classic text codec: the NUL-separated TWS API protocol of server versions up to 178, as spoken
//! by `ib_async` 2.1 (and the official Python/Java clients of that era).
//!
//! Every frame body is a sequence of ASCII fields, each terminated by `\0`; field 0 is the message
//! id in decimal. Requests are decoded with exactly the field order the client writes for the
//! negotiated server version (157..=178); responses are encoded in the layout the client's
//! decoder expects at that version. Layouts only branch on the version where they differ.
//!
//! Text-protocol quirks handled here:
//! - historical bars and their start/end markers travel in one message (17), so
//!   [`Response::HistoricalData`] is held back until its [`Response::HistoricalDataEnd`];
//! - bar dates are formatted per the request's `formatDate` and bar size (daily bars are always
//!   `yyyymmdd`), so the codec remembers each historical request's bar size.

mod decode;
mod encode;
mod fields;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::api::{Bar, ReqId, Request, Response};
use crate::wire::{Codec, DecodeError};

pub use fields::{UNSET_DOUBLE_STR, UNSET_INTEGER};

/// Lowest server version this codec can speak.
pub const MIN_VERSION: i32 = 157;
/// Highest server version this codec can speak.
pub const MAX_VERSION: i32 = 178;

/// Per-connection state shared between decoding and encoding.
#[derive(Debug, Default)]
struct State {
    /// Historical requests in flight: req id -> (bars are daily or longer, keepUpToDate).
    hist: HashMap<ReqId, (bool, bool)>,
    /// Bars received from the world, waiting for their end marker.
    pending_bars: HashMap<ReqId, (Vec<Bar>, i32)>,
}

/// The text codec for one connection.
#[derive(Debug)]
pub struct TextCodec {
    version: i32,
    state: Mutex<State>,
}

impl TextCodec {
    /// A codec for the negotiated `server_version` (clamped to 157..=178).
    pub fn new(server_version: i32) -> Self {
        Self {
            version: server_version.clamp(MIN_VERSION, MAX_VERSION),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decode one frame body (without its length prefix).
    pub fn decode_frame(&mut self, frame: &[u8]) -> Result<Request, DecodeError> {
        let req = decode::decode(self.version, frame)?;
        match &req {
            Request::ReqHistoricalData {
                req_id,
                bar_size,
                keep_up_to_date,
                ..
            } => {
                let daily = is_daily_bar_size(bar_size);
                self.state().hist.insert(*req_id, (daily, *keep_up_to_date));
            }
            Request::CancelHistoricalData { req_id } => {
                let mut st = self.state();
                st.hist.remove(req_id);
                st.pending_bars.remove(req_id);
            }
            _ => {}
        }
        Ok(req)
    }

    /// Append `resp` as zero or more complete frames to `out`.
    pub fn encode_response(&self, resp: &Response, out: &mut Vec<u8>) {
        match resp {
            Response::HistoricalData {
                req_id,
                bars,
                format_date,
            } => {
                let mut st = self.state();
                let entry = st
                    .pending_bars
                    .entry(*req_id)
                    .or_insert_with(|| (Vec::new(), *format_date));
                entry.0.extend_from_slice(bars);
                entry.1 = *format_date;
            }
            Response::HistoricalDataEnd { req_id, start, end } => {
                let (bars, format_date, daily) = {
                    let mut st = self.state();
                    let (bars, fd) = st.pending_bars.remove(req_id).unwrap_or((Vec::new(), 1));
                    let (daily, keep) = st.hist.get(req_id).copied().unwrap_or((false, false));
                    if !keep {
                        st.hist.remove(req_id);
                    }
                    (bars, fd, daily)
                };
                encode::historical_data(*req_id, start, end, &bars, format_date, daily, out);
            }
            Response::HistoricalDataUpdate {
                req_id,
                bar,
                format_date,
            } => {
                let daily = self.state().hist.get(req_id).is_some_and(|h| h.0);
                encode::historical_data_update(*req_id, bar, *format_date, daily, out);
            }
            Response::Error { id, code, .. } if !is_warning(*code) => {
                // A failed historical request: forget it and any bars held for it.
                {
                    let mut st = self.state();
                    st.pending_bars.remove(id);
                    if st.hist.get(id).is_some_and(|h| !h.1) {
                        st.hist.remove(id);
                    }
                }
                encode::encode(self.version, resp, out)
            }
            other => encode::encode(self.version, other, out),
        }
    }
}

impl Codec for TextCodec {
    fn decode(&mut self, frame: &[u8]) -> Result<Request, DecodeError> {
        self.decode_frame(frame)
    }

    fn encode(&self, resp: &Response, out: &mut Vec<u8>) {
        self.encode_response(resp, out)
    }

    fn server_version(&self) -> i32 {
        self.version
    }
}

/// Informational codes that do not end a request (farm notices, delayed-data notices).
fn is_warning(code: i32) -> bool {
    (2100..2200).contains(&code) || code == 10167
}

/// Whether a bar size setting ("1 day", "1 week", "1 month", "5 mins", ...) gives date-only bars.
fn is_daily_bar_size(bar_size: &str) -> bool {
    let b = bar_size.to_ascii_lowercase();
    b.contains("day") || b.contains("week") || b.contains("month")
}
