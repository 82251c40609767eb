//! Reading the files a user names with a bound, so a path to `/dev/zero`, a FIFO or a huge file
//! fails at once with a message instead of reading forever or exhausting memory.

use std::io::Read;
use std::path::Path;

/// Limit for small text files: configs, `state.json`.
pub const TEXT_LIMIT: u64 = 16 << 20;
/// Limit for logs that grow with a run: `metrics.jsonl`.
pub const LOG_LIMIT: u64 = 1 << 30;
/// Limit for weight and code files: safetensors checkpoints, `.aec` files.
pub const DATA_LIMIT: u64 = 64 << 30;

/// The bytes of the regular file at `path`, refusing anything else (a device, a FIFO, a folder)
/// and files over `limit` bytes with an `InvalidData` error that says so.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a regular file"));
    }
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the {limit}-byte limit for this kind of file"),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The length can change while reading: never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_folders_and_large_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("a.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(read_text_bounded(&small, 10).unwrap(), "{}");
        let err = read_bounded(&small, 1).unwrap_err();
        assert_eq!(err.to_string(), "larger than the 1-byte limit for this kind of file");
        assert_eq!(read_bounded(dir.path(), 10).unwrap_err().to_string(), "not a regular file");
        #[cfg(unix)]
        assert_eq!(read_bounded(Path::new("/dev/zero"), 10).unwrap_err().to_string(), "not a regular file");
    }
}
