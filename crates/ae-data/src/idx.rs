//! The IDX format of MNIST-like datasets, read strictly: two zero bytes, a type byte (0x08 for
//! unsigned bytes), a dimension count, one big-endian u32 per dimension, then exactly the product of
//! the dimensions in bytes. Files may be gzip-compressed (detected by their magic, not their name).
//! Sizes are computed with checked arithmetic and capped before anything is allocated.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::DataError;

/// The largest payload accepted (Fashion-MNIST's training images are 47 MB).
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// Magic of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A decoded IDX array of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file (raw or gzip) whose magic must be `magic`.
pub fn read_file(path: &Path, magic: u32) -> Result<IdxArray, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    read(BufReader::new(file), path, magic)
}

/// Reads an IDX array (raw or gzip) from `reader`; `path` names the source in errors.
pub fn read(mut reader: impl Read, path: &Path, magic: u32) -> Result<IdxArray, DataError> {
    let mut first = [0u8; 2];
    let got =
        read_up_to(&mut reader, &mut first).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let head = std::io::Cursor::new(first[..got].to_vec()).chain(reader);
    if got == 2 && first == [0x1f, 0x8b] {
        read_raw(MultiGzDecoder::new(head), path, magic, true)
    } else {
        read_raw(head, path, magic, false)
    }
}

/// Fills as much of `buf` as the stream holds, returning how much that was.
fn read_up_to(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_raw(mut reader: impl Read, path: &Path, magic: u32, gz: bool) -> Result<IdxArray, DataError> {
    let p = || path.to_path_buf();
    let stream_err = |source: std::io::Error| -> DataError {
        if gz { DataError::Gzip { path: p(), source } } else { DataError::Io { path: p(), source } }
    };
    let read_some = |reader: &mut dyn Read, buf: &mut [u8]| read_up_to(reader, buf).map_err(stream_err);

    let mut magic_bytes = [0u8; 4];
    let got = read_some(&mut reader, &mut magic_bytes)?;
    if got < 4 {
        return Err(DataError::TruncatedHeader { path: p(), expected: 4, found: got as u64 });
    }
    let found = u32::from_be_bytes(magic_bytes);
    if found != magic {
        let what = if magic == IMAGES_MAGIC {
            "unsigned-byte images, 3 dimensions"
        } else {
            "unsigned-byte labels, 1 dimension"
        };
        return Err(DataError::BadMagic { path: p(), expected: magic, found, what });
    }
    let ndims = (magic & 0xff) as usize;
    let mut dim_bytes = vec![0u8; 4 * ndims];
    let got = read_some(&mut reader, &mut dim_bytes)?;
    if got < dim_bytes.len() {
        return Err(DataError::TruncatedHeader {
            path: p(),
            expected: 4 + dim_bytes.len() as u64,
            found: 4 + got as u64,
        });
    }
    let dims: Vec<u32> = dim_bytes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).collect();
    let payload = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)));
    let expected = match payload {
        Some(n) if n <= MAX_PAYLOAD_BYTES => n,
        Some(n) => {
            return Err(DataError::TooLarge { path: p(), dims, what: format!("{n} bytes"), limit: MAX_PAYLOAD_BYTES });
        }
        None => {
            return Err(DataError::TooLarge { path: p(), dims, what: "overflow".into(), limit: MAX_PAYLOAD_BYTES });
        }
    };

    let mut data = Vec::with_capacity(expected as usize);
    (&mut reader).take(expected).read_to_end(&mut data).map_err(stream_err)?;
    if (data.len() as u64) < expected {
        return Err(DataError::Truncated { path: p(), expected, found: data.len() as u64 });
    }
    let mut rest = [0u8; 4096];
    let extra = read_some(&mut reader, &mut rest)?;
    if extra > 0 {
        return Err(DataError::TrailingBytes { path: p(), expected, extra: extra as u64 });
    }
    Ok(IdxArray { dims: dims.into_iter().map(|d| d as usize).collect(), data })
}

/// Finds `name` or `name.gz` in `dir`.
pub fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)].into_iter().find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An IDX file image with the given magic, dimensions and payload.
    pub(crate) fn idx_bytes(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(payload);
        out
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn path() -> &'static Path {
        Path::new("x-idx3-ubyte")
    }

    #[test]
    fn reads_a_good_file_raw_and_gzipped() {
        let payload: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let raw = idx_bytes(IMAGES_MAGIC, &[2, 3, 4], &payload);
        for bytes in [raw.clone(), gz(&raw)] {
            let a = read(bytes.as_slice(), path(), IMAGES_MAGIC).unwrap();
            assert_eq!(a.dims, [2, 3, 4]);
            assert_eq!(a.data, payload);
        }
    }

    #[test]
    fn bad_magic_is_refused_with_both_values() {
        let bytes = idx_bytes(LABELS_MAGIC, &[3], &[1, 2, 3]);
        let err = read(bytes.as_slice(), path(), IMAGES_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { expected: IMAGES_MAGIC, found: LABELS_MAGIC, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "x-idx3-ubyte: bad IDX magic 0x00000801; expected 0x00000803 (unsigned-byte images, 3 dimensions)"
        );
    }

    #[test]
    fn truncated_payload_and_header_are_refused() {
        let bytes = idx_bytes(IMAGES_MAGIC, &[2, 2, 2], &[0; 5]);
        for b in [bytes.clone(), gz(&bytes)] {
            let err = read(b.as_slice(), path(), IMAGES_MAGIC).unwrap_err();
            assert!(matches!(err, DataError::Truncated { expected: 8, found: 5, .. }), "{err:?}");
        }
        let err = read(&bytes[..9], path(), IMAGES_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::TruncatedHeader { expected: 16, found: 9, .. }), "{err:?}");
        let err = read(&bytes[..2], path(), IMAGES_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::TruncatedHeader { expected: 4, found: 2, .. }), "{err:?}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let bytes = idx_bytes(LABELS_MAGIC, &[3], &[1, 2, 3, 4, 5]);
        for b in [bytes.clone(), gz(&bytes)] {
            let err = read(b.as_slice(), path(), LABELS_MAGIC).unwrap_err();
            assert!(matches!(err, DataError::TrailingBytes { expected: 3, extra: 2, .. }), "{err:?}");
        }
        let mut with_garbage = gz(&idx_bytes(LABELS_MAGIC, &[3], &[1, 2, 3]));
        with_garbage.extend(b"garbage");
        let err = read(with_garbage.as_slice(), path(), LABELS_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    }

    #[test]
    fn absurd_dimensions_are_refused_before_allocating() {
        let bytes = idx_bytes(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]);
        let err = read(bytes.as_slice(), path(), IMAGES_MAGIC).unwrap_err();
        assert!(matches!(&err, DataError::TooLarge { what, .. } if what == "overflow"), "{err:?}");
        let bytes = idx_bytes(IMAGES_MAGIC, &[100_000, 1000, 1000], &[]);
        let err = read(bytes.as_slice(), path(), IMAGES_MAGIC).unwrap_err();
        assert!(matches!(&err, DataError::TooLarge { what, .. } if what == "100000000000 bytes"), "{err:?}");
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        let mut bytes = gz(&idx_bytes(LABELS_MAGIC, &[1000], &[7; 1000]));
        let n = bytes.len();
        // The CRC-32 of the payload sits 8 to 4 bytes from the end.
        bytes[n - 6] ^= 0xff;
        let err = read(bytes.as_slice(), path(), LABELS_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    }
}
