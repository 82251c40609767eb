//! A read-only memory map of a whole file, the one place `ae-data` uses `unsafe`: mapping a file
//! is unsafe because another process could change or truncate it while it is mapped. ae maps
//! only the array files it reads, read-only, and checks their size against their header;
//! changing a shard while a run trains on it is unsupported (as with every tool that maps its
//! data, PyTorch's and numpy's `mmap_mode` included).
#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;

use crate::error::DataError;

/// The bytes of a file, mapped.
#[derive(Debug)]
pub struct Mapped(memmap2::Mmap);

impl Mapped {
    /// Maps `file` (opened from `path`, which names it in errors).
    pub fn of(file: &File, path: &Path) -> Result<Mapped, DataError> {
        // SAFETY: read-only mapping; see the module's note on files changed while mapped.
        let map =
            unsafe { memmap2::Mmap::map(file) }.map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
        Ok(Mapped(map))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}
