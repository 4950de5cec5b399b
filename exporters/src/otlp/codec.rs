//! A tonic codec that encodes a [`Bundle`] straight from its batches into tonic's send buffer,
//! so an export request is never built (the generated clients take an owned request, which
//! would mean cloning every resource).
//!
//! Responses are decoded with prost, as tonic-prost's `ProstCodec` does.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BufMut;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use weir_pipeline::Bundle;

use super::common::{ExportResponse, encode_bundle};

/// Largest size hint kept, so one huge request does not make every later one reserve as much.
const MAX_HINT: usize = 16 << 20;

/// Encodes bundles; decodes `R`, the signal's `Export*ServiceResponse`.
pub(crate) struct BundleCodec<R> {
    /// Size of the last request encoded, reserved up front so the buffer grows at most once.
    size_hint: Arc<AtomicUsize>,
    _response: PhantomData<fn() -> R>,
}

impl<R> BundleCodec<R> {
    pub(crate) fn new(size_hint: Arc<AtomicUsize>) -> Self {
        Self {
            size_hint,
            _response: PhantomData,
        }
    }
}

impl<R: ExportResponse> Codec for BundleCodec<R> {
    type Encode = Arc<Bundle>;
    type Decode = R;
    type Encoder = BundleEncoder;
    type Decoder = ResponseDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        BundleEncoder {
            size_hint: self.size_hint.clone(),
        }
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder(PhantomData)
    }
}

pub(crate) struct BundleEncoder {
    size_hint: Arc<AtomicUsize>,
}

impl Encoder for BundleEncoder {
    type Item = Arc<Bundle>;
    type Error = Status;

    fn encode(&mut self, bundle: Arc<Bundle>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(self.size_hint.load(Ordering::Relaxed));
        // BytesMut's remaining_mut is `usize::MAX - len`, so the difference is what was written.
        let before = dst.remaining_mut();
        encode_bundle(&bundle, dst);
        let written = before - dst.remaining_mut();
        self.size_hint
            .store(written.min(MAX_HINT), Ordering::Relaxed);
        Ok(())
    }
}

pub(crate) struct ResponseDecoder<R>(PhantomData<fn() -> R>);

impl<R: ExportResponse> Decoder for ResponseDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        R::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("cannot decode the export response: {e}")))
    }
}
