//! The worker's reports to its supervisor, on its standard output: each
//! input before it runs (so that the input that killed the worker is
//! known), and its totals when it is done. A frame is a tag byte, a
//! little-endian `u32` length and that many bytes.

use std::io::{self, Read, Write};

/// The input about to run.
pub const INPUT: u8 = b'I';
/// The worker's totals, as text; the last frame of a worker that ended
/// normally.
pub const DONE: u8 = b'D';

/// Writes one frame and flushes it.
pub fn send(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    out.write_all(&[tag])?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame; `None` at the end of the stream.
pub fn receive(input: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    match input.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [tag, a, b, c, d] = header;
    let len = u32::from_le_bytes([a, b, c, d]) as usize;
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some((tag, payload)))
}

#[cfg(test)]
mod tests {
    use super::{DONE, INPUT, receive, send};

    #[test]
    fn frames_round_trip() {
        let mut buffer = Vec::new();
        send(&mut buffer, INPUT, "x + 1".as_bytes()).expect("write");
        send(&mut buffer, DONE, b"").expect("write");
        let mut reader = buffer.as_slice();
        assert_eq!(
            receive(&mut reader).expect("read"),
            Some((INPUT, b"x + 1".to_vec()))
        );
        assert_eq!(
            receive(&mut reader).expect("read"),
            Some((DONE, Vec::new()))
        );
        assert_eq!(receive(&mut reader).expect("read"), None);
    }
}
