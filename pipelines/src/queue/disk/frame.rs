//! The on-disk frame: one stored record, or one mark, with its lengths and two CRC32
//! checksums, so that a torn write or a flipped bit is found when the file is read back.
//!
//! ```text
//! magic u32 | header_len u32 | payload_len u32 | header_crc u32 | header | payload_crc u32 | payload
//! ```
//! (little-endian; `header_crc` covers both lengths and the header). [`scan`] reads a file's
//! frames in order. A frame whose header checks but whose payload does not, or that the file
//! ends inside, is reported [`Scanned::Damaged`] with its header; bytes that are not a frame
//! (a torn header, garbage) are reported as one damaged stretch without a header, and the scan
//! resynchronises on the next frame whose header checks. Nothing here fails or panics.

/// "WEIR" — the first bytes of every frame.
const MAGIC: u32 = u32::from_le_bytes(*b"WEIR");
/// Bytes before the header.
const PREFIX: usize = 16;
/// Largest header accepted when scanning (a header holds ids, never data).
const MAX_HEADER: usize = 4096;

/// Appends one frame of `header` and `payload` to `out`.
pub fn encode(out: &mut Vec<u8>, header: &[u8], payload: &[u8]) {
    let hlen = header.len() as u32;
    let plen = payload.len() as u32;
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(&plen.to_le_bytes());
    out.extend_from_slice(&header_crc(hlen, plen, header).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The bytes one frame of a `header_len`-byte header and `payload_len`-byte payload takes.
pub fn frame_len(header_len: usize, payload_len: usize) -> usize {
    PREFIX + header_len + 4 + payload_len
}

fn header_crc(hlen: u32, plen: u32, header: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&hlen.to_le_bytes());
    h.update(&plen.to_le_bytes());
    h.update(header);
    h.finalize()
}

/// One thing found by [`scan`].
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// A whole frame whose checksums hold.
    Frame {
        /// Where the frame starts in the file.
        offset: u64,
        /// Its header.
        header: &'a [u8],
        /// Its payload.
        payload: &'a [u8],
    },
    /// Bytes that are not a sound frame, starting at `offset`: the frame's header when that
    /// part checked (payload damaged or cut off by the end of the file), else `None`.
    Damaged {
        /// Where the damage starts.
        offset: u64,
        /// The frame's header, when it checked.
        header: Option<&'a [u8]>,
    },
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at + 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// The frame header starting at `at`, when its magic, lengths and checksum hold:
/// `(header, header_len, payload_len)`.
fn header_at(buf: &[u8], at: usize) -> Option<(&[u8], usize, usize)> {
    if u32_at(buf, at)? != MAGIC {
        return None;
    }
    let hlen = u32_at(buf, at + 4)?;
    let plen = u32_at(buf, at + 8)?;
    let crc = u32_at(buf, at + 12)?;
    if hlen as usize > MAX_HEADER {
        return None;
    }
    let header = buf.get(at + PREFIX..at + PREFIX + hlen as usize)?;
    (header_crc(hlen, plen, header) == crc).then_some((header, hlen as usize, plen as usize))
}

/// Every frame and damaged stretch of `buf`, in order.
pub fn scan(buf: &[u8]) -> Vec<Scanned<'_>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let Some((header, hlen, plen)) = header_at(buf, at) else {
            out.push(Scanned::Damaged {
                offset: at as u64,
                header: None,
            });
            match resync(buf, at + 1) {
                Some(next) => {
                    at = next;
                    continue;
                }
                None => break,
            }
        };
        let body = at + PREFIX + hlen;
        let end = body + 4 + plen;
        let payload = buf.get(body + 4..end);
        let sound = match (u32_at(buf, body), payload) {
            (Some(crc), Some(p)) => crc32fast::hash(p) == crc,
            _ => false,
        };
        match payload {
            Some(payload) if sound => out.push(Scanned::Frame {
                offset: at as u64,
                header,
                payload,
            }),
            _ => out.push(Scanned::Damaged {
                offset: at as u64,
                header: Some(header),
            }),
        }
        if end >= buf.len() {
            break;
        }
        // A sound header's lengths are trusted; a frame cut off by the end stops the scan.
        at = end;
    }
    out
}

/// The next offset from `from` where a frame header checks.
fn resync(buf: &[u8], from: usize) -> Option<usize> {
    let magic = MAGIC.to_le_bytes();
    (from..buf.len().saturating_sub(PREFIX - 1))
        .find(|&i| buf[i..i + 4] == magic && header_at(buf, i).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_frames() -> Vec<u8> {
        let mut buf = Vec::new();
        encode(&mut buf, b"h1", b"payload one");
        encode(&mut buf, b"h2", b"payload two");
        buf
    }

    fn headers(found: &[Scanned<'_>]) -> Vec<String> {
        found
            .iter()
            .map(|s| match s {
                Scanned::Frame { header, .. } => String::from_utf8_lossy(header).into_owned(),
                Scanned::Damaged {
                    header: Some(h), ..
                } => {
                    format!("damaged {}", String::from_utf8_lossy(h))
                }
                Scanned::Damaged { header: None, .. } => "damaged".into(),
            })
            .collect()
    }

    #[test]
    fn frames_read_back_in_order() {
        let buf = two_frames();
        assert_eq!(buf.len(), 2 * frame_len(2, 11));
        let found = scan(&buf);
        assert_eq!(headers(&found), ["h1", "h2"]);
        let Scanned::Frame {
            payload, offset, ..
        } = &found[1]
        else {
            panic!("{found:?}");
        };
        assert_eq!(*payload, b"payload two");
        assert_eq!(*offset, frame_len(2, 11) as u64);
    }

    #[test]
    fn a_cut_off_tail_is_damage_with_its_header() {
        let buf = two_frames();
        let found = scan(&buf[..buf.len() - 3]);
        assert_eq!(headers(&found), ["h1", "damaged h2"]);
    }

    #[test]
    fn a_torn_header_is_damage_without_one() {
        let buf = two_frames();
        let cut = frame_len(2, 11) + 7;
        assert_eq!(headers(&scan(&buf[..cut])), ["h1", "damaged"]);
    }

    #[test]
    fn a_flipped_payload_bit_skips_that_frame_only() {
        let mut buf = two_frames();
        buf[PREFIX + 2 + 4 + 3] ^= 0x10;
        assert_eq!(headers(&scan(&buf)), ["damaged h1", "h2"]);
    }

    #[test]
    fn a_flipped_header_bit_resynchronises_on_the_next_frame() {
        let mut buf = two_frames();
        buf[PREFIX] ^= 0x01;
        assert_eq!(headers(&scan(&buf)), ["damaged", "h2"]);
    }

    #[test]
    fn garbage_alone_is_one_damaged_stretch() {
        assert_eq!(headers(&scan(&[7u8; 100])), ["damaged"]);
        assert!(scan(&[]).is_empty());
    }
}
