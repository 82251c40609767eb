//! Training rows streamed from array files on disk (`--stream`, or arrays larger than
//! [`STREAM_ABOVE`]), so a set larger than memory trains: only the headers are read up front;
//! the files are memory-mapped read-only ([`crate::mapped`]) and each batch copies its rows out
//! of the mapping, converting them to f32 in parallel blocks. The pages touched are the kernel's
//! file cache, not the process's anonymous memory, so the process stays small however large the
//! files are. (Positioned reads, `pread` per row, measured 69-73% of in-memory speed against the
//! mapping's 85-91%: a system call per row costs more than the copy.)

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use crate::array::{ARRAY_EXTENSIONS, Elem, elem_to_f32, npy_header, safetensors_header};
use crate::error::DataError;
use crate::loader::RowSource;
use crate::normalize::Normalization;

/// Array data above this many bytes streams even without `--stream` (1 GiB).
pub const STREAM_ABOVE: u64 = 1 << 30;

/// The most rows a split carved from streamed data (test, validation) holds in memory.
pub const MAX_STREAMED_HOLDOUT: usize = 10_000;

/// The fraction of `n` rows that carves `fraction` of them, but at most
/// [`MAX_STREAMED_HOLDOUT`].
pub fn holdout_fraction(n: usize, fraction: f64) -> f64 {
    let want = (n as f64 * fraction).round() as usize;
    if want <= MAX_STREAMED_HOLDOUT || n == 0 { fraction } else { MAX_STREAMED_HOLDOUT as f64 / n as f64 }
}

/// Whether the array data at `path` streams: as `stream` says, else when its files hold more
/// than [`STREAM_ABOVE`] bytes. Only `.npy` and `.safetensors` files stream.
pub fn streams(path: &Path, stream: Option<bool>) -> bool {
    let files = StreamedRows::files_of(path);
    let streamable = !files.is_empty()
        && files.iter().all(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("npy") || e.eq_ignore_ascii_case("safetensors"))
        });
    match stream {
        Some(s) => s,
        None => {
            streamable && files.iter().filter_map(|p| p.metadata().ok()).map(|m| m.len()).sum::<u64>() > STREAM_ABOVE
        }
    }
}

/// One file's rows: where its payload starts and how its values are stored.
#[derive(Debug)]
struct Shard {
    path: PathBuf,
    map: crate::mapped::Mapped,
    offset: u64,
    elem: Elem,
    big: bool,
}

/// Rows of one width from one or more array files, read on demand.
#[derive(Debug, Clone)]
pub struct StreamedRows {
    shards: Arc<Vec<Shard>>,
    /// The first global row of each shard, and the total after the last.
    starts: Arc<Vec<usize>>,
    /// The shape of one row.
    row_shape: Vec<usize>,
    /// The global rows this view holds, in order; all of them when `None`.
    index: Option<Arc<Vec<u32>>>,
    normalization: Option<Arc<Normalization>>,
    device: Device,
}

impl StreamedRows {
    /// Opens the `.npy` or `.safetensors` files `paths` (one tensor each, `tensor` choosing where a
    /// file holds several), checking each header against its file and that every shard's rows have
    /// the shape of the first's.
    pub fn open(paths: &[PathBuf], tensor: Option<&str>, dev: &Device) -> Result<StreamedRows, DataError> {
        let mut shards = Vec::new();
        let mut starts = vec![0usize];
        let mut row_shape: Option<(Vec<usize>, PathBuf)> = None;
        for path in paths {
            let bad = |why: String| DataError::File { path: path.clone(), why };
            let file = File::open(path).map_err(|source| DataError::Io { path: path.clone(), source })?;
            let len = file.metadata().map_err(|source| DataError::Io { path: path.clone(), source })?.len();
            let mut head = vec![0u8; len.min(1 << 20) as usize];
            (&file).read_exact(&mut head).map_err(|source| DataError::Io { path: path.clone(), source })?;
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            let h = match ext.as_str() {
                "npy" => npy_header(&head, path)?,
                "safetensors" => safetensors_header(&head, path, tensor)?,
                _ => {
                    return Err(bad(format!(
                        ".{ext} cannot stream; expected .npy or .safetensors (an .npz is compressed)"
                    )));
                }
            };
            if h.fortran && h.dims.len() > 1 {
                return Err(bad(
                    "Fortran-order array cannot stream; expected C order (numpy's default), or no --stream".into(),
                ));
            }
            let Some((&n, row)) = h.dims.split_first() else {
                return Err(bad("a scalar (shape ()); expected an array whose first axis counts examples".into()));
            };
            let row = if row.is_empty() { vec![1] } else { row.to_vec() };
            let need = h.dims.iter().try_fold(h.elem.size() as u64, |acc, &d| acc.checked_mul(d as u64));
            match need {
                Some(need) if h.offset.checked_add(need) == Some(len) => {}
                Some(need) => {
                    return Err(bad(format!(
                        "shape {:?} of {:?} needs {need} payload bytes after the header but the file holds {}",
                        h.dims,
                        h.elem,
                        len.saturating_sub(h.offset)
                    )));
                }
                None => return Err(bad(format!("header declares shape {:?}, which overflows", h.dims))),
            }
            match &row_shape {
                None => row_shape = Some((row.clone(), path.clone())),
                Some((first, first_path)) if *first != row => {
                    return Err(bad(format!(
                        "rows of shape {row:?}; expected {first:?} as {} holds (every shard needs the same row shape)",
                        first_path.display()
                    )));
                }
                Some(_) => {}
            }
            starts.push(starts[starts.len() - 1] + n);
            let map = crate::mapped::Mapped::of(&file, path)?;
            shards.push(Shard { path: path.clone(), map, offset: h.offset, elem: h.elem, big: h.big });
        }
        let (row_shape, _) = row_shape.ok_or_else(|| DataError::File {
            path: paths.first().cloned().unwrap_or_default(),
            why: "no array files to stream".into(),
        })?;
        Ok(StreamedRows {
            shards: Arc::new(shards),
            starts: Arc::new(starts),
            row_shape,
            index: None,
            normalization: None,
            device: dev.clone(),
        })
    }

    /// The array files directly in `dir` (or `dir` itself when it is a file), sorted.
    pub fn files_of(path: &Path) -> Vec<PathBuf> {
        if !path.is_dir() {
            return vec![path.to_path_buf()];
        }
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(path).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        files.retain(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ARRAY_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        });
        files.sort();
        files
    }

    /// The shape of one row.
    pub fn row_shape(&self) -> &[usize] {
        &self.row_shape
    }

    /// These rows restricted to `rows` (indices into this view), in that order.
    pub fn subset(&self, rows: &[u32]) -> StreamedRows {
        let global: Vec<u32> = match &self.index {
            None => rows.to_vec(),
            Some(index) => rows.iter().map(|&r| index[r as usize]).collect(),
        };
        StreamedRows { index: Some(Arc::new(global)), ..self.clone() }
    }

    /// These rows normalised with `n` as they are read.
    pub fn normalized(&self, n: Option<Normalization>) -> StreamedRows {
        StreamedRows { normalization: n.map(Arc::new), ..self.clone() }
    }

    /// The global row of view row `i`.
    fn global(&self, i: u32) -> usize {
        match &self.index {
            None => i as usize,
            Some(index) => index[i as usize] as usize,
        }
    }

    /// Reads global row `g` into `out` as f32.
    fn read_row(&self, g: usize, out: &mut [f32]) -> Result<(), DataError> {
        let s = self.starts.partition_point(|&start| start <= g) - 1;
        let shard = &self.shards[s];
        let size = shard.elem.size();
        let at = shard.offset as usize + (g - self.starts[s]) * out.len() * size;
        // In bounds: `open` checked each file's size against its header.
        elem_to_f32(&shard.map.bytes()[at..at + out.len() * size], shard.elem, shard.big, out);
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(DataError::File {
                path: shard.path.clone(),
                why: format!("row {} entry {i}: {} (as f32); expected finite values", g - self.starts[s], out[i]),
            });
        }
        if let Some(n) = &self.normalization {
            for ((v, o), sc) in out.iter_mut().zip(&n.offset).zip(&n.scale) {
                *v = (*v - o) / sc;
            }
        }
        Ok(())
    }

    /// The rows at view indices `idx` as host values, row-major.
    pub fn read(&self, idx: &[u32]) -> Result<Vec<f32>, DataError> {
        let d = self.features();
        let mut out = vec![0f32; idx.len() * d];
        // Blocks of rows per task: one row is too little work to hand to another thread.
        let rows_per_task = (16384 / d.max(1)).max(1);
        out.par_chunks_mut(d.max(1) * rows_per_task).zip(idx.par_chunks(rows_per_task)).try_for_each(
            |(block, ids)| {
                block.chunks_exact_mut(d.max(1)).zip(ids).try_for_each(|(row, &i)| self.read_row(self.global(i), row))
            },
        )?;
        Ok(out)
    }
}

impl StreamedRows {
    /// Fits `kind` over every row, reading them in chunks (one pass over the files).
    pub fn fit(&self, kind: crate::normalize::Normalize) -> Result<Normalization, DataError> {
        let d = self.features();
        let n = self.len();
        let (mut sum, mut sq) = (vec![0f64; d], vec![0f64; d]);
        let (mut lo, mut hi) = (vec![f64::INFINITY; d], vec![f64::NEG_INFINITY; d]);
        let mut norms = 0f64;
        let chunk = (1 << 22) / d.max(1) + 1;
        for start in (0..n).step_by(chunk) {
            let idx: Vec<u32> = (start as u32..(start + chunk).min(n) as u32).collect();
            let rows = self.read(&idx)?;
            for row in rows.chunks_exact(d) {
                norms += row.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
                for (j, &v) in row.iter().enumerate() {
                    let v = f64::from(v);
                    sum[j] += v;
                    sq[j] += v * v;
                    lo[j] = lo[j].min(v);
                    hi[j] = hi[j].max(v);
                }
            }
        }
        let n = n.max(1) as f64;
        let keep = |s: f64| if s > f64::from(f32::EPSILON) && s.is_finite() { s as f32 } else { 1.0 };
        let (offset, scale): (Vec<f32>, Vec<f32>) = match kind {
            crate::normalize::Normalize::None => (vec![0.0; d], vec![1.0; d]),
            crate::normalize::Normalize::Minmax => {
                (lo.iter().map(|&l| l as f32).collect(), lo.iter().zip(&hi).map(|(l, h)| keep(h - l)).collect())
            }
            crate::normalize::Normalize::Standard => (
                sum.iter().map(|s| (s / n) as f32).collect(),
                sum.iter().zip(&sq).map(|(s, q)| keep((q / n - (s / n) * (s / n)).max(0.0).sqrt())).collect(),
            ),
            crate::normalize::Normalize::Norm => (vec![0.0; d], vec![crate::normalize::norm_factor(norms / n, d); d]),
        };
        Ok(Normalization { kind, offset, scale, fill: Vec::new() })
    }
}

impl RowSource for StreamedRows {
    fn len(&self) -> usize {
        match &self.index {
            None => self.starts[self.starts.len() - 1],
            Some(index) => index.len(),
        }
    }

    fn features(&self) -> usize {
        self.row_shape.iter().product()
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn gather(&self, idx: &[u32]) -> Result<Tensor, DataError> {
        let values = self.read(idx)?;
        Ok(Tensor::from_vec(values, (idx.len(), self.features()), &self.device)?)
    }

    fn range(&self, start: usize, len: usize) -> Result<Tensor, DataError> {
        let idx: Vec<u32> = (start as u32..(start + len) as u32).collect();
        self.gather(&idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_refuse_what_they_cannot_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let f = write("f.npy", &crate::array::npy_file("<f4", true, "(2, 3)", &[0; 24]));
        let err = StreamedRows::open(&[f], None, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "f.npy: Fortran-order array cannot stream; expected C order (numpy's default), or no --stream"
            ),
            "{err}"
        );
        let z = write("z.npz", b"PK");
        let err = StreamedRows::open(&[z], None, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("z.npz: .npz cannot stream"), "{err}");
        let short = write("s.npy", &crate::array::npy_file("<f4", false, "(4, 3)", &[0; 24]));
        let err = StreamedRows::open(&[short], None, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("s.npy: shape [4, 3] of F32 needs 48 payload bytes after the header but the file holds 24"),
            "{err}"
        );
    }

    #[test]
    fn streamed_rows_read_what_the_files_hold() {
        let dir = tempfile::tempdir().unwrap();
        let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = dir.path().join("a.npy");
        std::fs::write(&a, crate::array::npy_file("<f4", false, "(4, 3)", &bytes)).unwrap();
        let b = dir.path().join("b.npy");
        std::fs::write(
            &b,
            crate::array::npy_file(
                "<f8",
                false,
                "(1, 3)",
                &[1.5f64, 2.5, 3.5].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
            ),
        )
        .unwrap();
        let rows = StreamedRows::open(&[a, b], None, &Device::Cpu).unwrap();
        assert_eq!((rows.len(), rows.features()), (5, 3));
        assert_eq!(rows.read(&[4, 1]).unwrap(), [1.5, 2.5, 3.5, 3.0, 4.0, 5.0]);
        let sub = rows.subset(&[3, 0]);
        assert_eq!(sub.gather(&[1]).unwrap().to_vec2::<f32>().unwrap(), [[0.0, 1.0, 2.0]]);
        let fitted = sub.fit(crate::normalize::Normalize::Minmax).unwrap();
        assert_eq!((fitted.offset, fitted.scale), (vec![0.0, 1.0, 2.0], vec![9.0, 9.0, 9.0]));
        // Rows [9, 10, 11] and [0, 1, 2]: norms sqrt(302) and sqrt(5), over sqrt(3) features.
        let norm = sub.fit(crate::normalize::Normalize::Norm).unwrap();
        let want = ((302f64.sqrt() + 5f64.sqrt()) / 2.0 / 3f64.sqrt()) as f32;
        assert_eq!(norm.offset, [0.0; 3]);
        assert!(norm.scale.iter().all(|&s| (s - want).abs() < 1e-6), "{:?} vs {want}", norm.scale);
        assert_eq!(holdout_fraction(1_000_000, 0.2), 0.01);
        assert_eq!(holdout_fraction(1000, 0.2), 0.2);
    }
}
