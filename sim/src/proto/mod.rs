//! Protobuf codec (server versions 213..=226) for `ibapi` 5.x and other modern clients.

use crate::api::{Request, Response};
use crate::wire::{Codec, DecodeError};

/// Per-connection protobuf codec.
#[derive(Debug)]
pub struct ProtoCodec {
    server_version: i32,
}

impl ProtoCodec {
    pub fn new(server_version: i32) -> Self {
        Self { server_version }
    }
}

impl Codec for ProtoCodec {
    fn decode(&mut self, frame: &[u8]) -> Result<Request, DecodeError> {
        if frame.len() < 4 {
            return Err(DecodeError::Truncated);
        }
        let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        Err(DecodeError::UnknownMessage(id))
    }

    fn encode(&self, _resp: &Response, _out: &mut Vec<u8>) {}

    fn server_version(&self) -> i32 {
        self.server_version
    }
}
