//! Arrays as other programs write them: numpy's `.npy` (every float and integer dtype, either
//! byte order, C or Fortran order) and `.npz`, and `.safetensors`, or a folder of such shards of
//! one row width. The first axis counts examples; `(n, d)` is rows of features, `(n, h, w)` grey
//! images and `(n, c, h, w)` images in PyTorch's layout. Every header is checked against the file
//! before anything is allocated.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::DataConfig;
use crate::error::DataError;
use crate::file_source::{RowReader, Rows, has_extension};
use crate::normalize::Normalize;
use crate::shape::SampleShape;

/// The extensions of array files.
pub const ARRAY_EXTENSIONS: [&str; 3] = ["npy", "npz", "safetensors"];

/// The most values one array may declare (2^36 f32, 256 GiB): a header claiming more is refused
/// as absurd before its size is compared with the file.
const MAX_VALUES: u128 = 1 << 36;

/// `.npy`, `.npz`, `.safetensors`, and folders of them.
#[derive(Debug, Clone, Copy)]
pub struct ArrayReader;

impl RowReader for ArrayReader {
    fn accepts(&self, path: &Path) -> bool {
        has_extension(path, &ARRAY_EXTENSIONS) || (path.is_dir() && !shards(path).is_empty())
    }

    fn read(&self, path: &Path, cfg: &DataConfig) -> Result<Rows, DataError> {
        if !path.is_dir() {
            return read_array_file(path, cfg.tensor.as_deref()).map(|a| a.into_rows(path));
        }
        let mut out: Option<(PathBuf, Array)> = None;
        for shard in shards(path) {
            let a = read_array_file(&shard, cfg.tensor.as_deref())?;
            match &mut out {
                None => out = Some((shard, a)),
                Some((first, acc)) => {
                    if a.row_shape != acc.row_shape {
                        return Err(DataError::File {
                            path: shard.clone(),
                            why: format!(
                                "rows of shape {:?}; expected {:?} as {} holds (every shard needs the same row shape)",
                                a.row_shape,
                                acc.row_shape,
                                first.display()
                            ),
                        });
                    }
                    acc.values.extend_from_slice(&a.values);
                    acc.n += a.n;
                }
            }
        }
        let (_, a) = out.ok_or_else(|| DataError::File {
            path: path.to_path_buf(),
            why: "no .npy, .npz or .safetensors files in this folder".into(),
        })?;
        Ok(a.into_rows(path))
    }
}

/// The array files directly in folder `dir`, sorted by name.
fn shards(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| has_extension(p, &ARRAY_EXTENSIONS)).collect();
    files.sort();
    files
}

/// One array read as f32, its first axis the examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Examples.
    pub n: usize,
    /// The shape of one example.
    pub row_shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

impl Array {
    /// These values as rows, their shape read from the row shape.
    pub(crate) fn into_rows(self, path: &Path) -> Rows {
        let shape = match self.row_shape[..] {
            [h, w] => SampleShape::Image { channels: 1, height: h, width: w },
            [c, h, w] if c == 1 || c == 3 => SampleShape::Image { channels: c, height: h, width: w },
            _ => SampleShape::Features(self.row_shape.iter().product()),
        };
        Rows {
            shape,
            values: self.values,
            labels: None,
            feature_names: Vec::new(),
            row_names: (0..self.n).map(|i| format!("{}[{i}]", path.display())).collect(),
            normalize: Normalize::None,
            class_names: Vec::new(),
        }
    }
}

/// Reads one `.npy`, `.npz` or `.safetensors` file; `tensor` picks one of several arrays.
pub fn read_array_file(path: &Path, tensor: Option<&str>) -> Result<Array, DataError> {
    // Mapped, not read: the file's bytes stay in the kernel's cache instead of a second copy
    // of the data in the process's memory beside the parsed values.
    let file = std::fs::File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let map = crate::mapped::Mapped::of(&file, path)?;
    parse_array(map.bytes(), path, tensor)
}

/// Parses the bytes of an array file, its kind told by `path`'s extension (`.npy`, `.npz`,
/// anything else as `.safetensors`); `path` also names it in errors.
pub fn parse_array(bytes: &[u8], path: &Path, tensor: Option<&str>) -> Result<Array, DataError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "npy" => parse_npy(bytes, path),
        "npz" => read_npz(bytes, path, tensor),
        _ => parse_safetensors(bytes, path, tensor),
    }
}

fn bad(path: &Path, why: impl Into<String>) -> DataError {
    DataError::File { path: path.to_path_buf(), why: why.into() }
}

/// The element types arrays may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    F16,
    Bf16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

impl Elem {
    pub(crate) fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 | Elem::Bool => 1,
            Elem::F16 | Elem::Bf16 | Elem::I16 | Elem::U16 => 2,
            Elem::F32 | Elem::I32 | Elem::U32 => 4,
            Elem::F64 | Elem::I64 | Elem::U64 => 8,
        }
    }
}

/// Converts `data` of `elem` (little-endian unless `big`) to f32; u8 scales to [0, 1], the
/// convention for pixels.
fn to_f32(data: &[u8], elem: Elem, big: bool) -> Vec<f32> {
    let mut out = vec![0f32; data.len() / elem.size()];
    elem_to_f32(data, elem, big, &mut out);
    out
}

/// [`to_f32`] into `out` (one value per element of `data`).
pub(crate) fn elem_to_f32(data: &[u8], elem: Elem, big: bool, out: &mut [f32]) {
    // One loop per type and byte order, so each compiles to a tight (vectorisable) loop: the
    // streamed loader converts every value of every batch through here.
    macro_rules! convert {
        ($n:literal, |$b:ident| $e:expr) => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact($n)) {
                let mut $b = [0u8; $n];
                $b.copy_from_slice(c);
                if big {
                    $b.reverse();
                }
                *o = $e;
            }
        };
    }
    match elem {
        Elem::F32 if !big => {
            for (o, c) in out.iter_mut().zip(data.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        Elem::F16 => convert!(2, |b| half::f16::from_le_bytes(b).to_f32()),
        Elem::Bf16 => convert!(2, |b| half::bf16::from_le_bytes(b).to_f32()),
        Elem::F32 => convert!(4, |b| f32::from_le_bytes(b)),
        Elem::F64 => convert!(8, |b| f64::from_le_bytes(b) as f32),
        Elem::I8 => convert!(1, |b| b[0] as i8 as f32),
        Elem::I16 => convert!(2, |b| i16::from_le_bytes(b) as f32),
        Elem::I32 => convert!(4, |b| i32::from_le_bytes(b) as f32),
        Elem::I64 => convert!(8, |b| i64::from_le_bytes(b) as f32),
        Elem::U8 => convert!(1, |b| b[0] as f32 / 255.0),
        Elem::U16 => convert!(2, |b| u16::from_le_bytes(b) as f32),
        Elem::U32 => convert!(4, |b| u32::from_le_bytes(b) as f32),
        Elem::U64 => convert!(8, |b| u64::from_le_bytes(b) as f32),
        Elem::Bool => convert!(1, |b| f32::from(u8::from(b[0] != 0))),
    }
}

/// Checks a declared shape against the payload and builds the array.
fn checked(
    path: &Path,
    dims: &[usize],
    elem: Elem,
    payload: &[u8],
    big: bool,
    fortran: bool,
) -> Result<Array, DataError> {
    let Some((&n, row)) = dims.split_first() else {
        return Err(bad(path, "a scalar (shape ()); expected an array whose first axis counts examples"));
    };
    // Checked: a header of many huge sizes overflows even u128 (found by fuzzing).
    let count = dims.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128));
    let Some(count) = count.filter(|&c| c <= MAX_VALUES) else {
        let shown = count.map_or_else(|| "more than 2^128".to_string(), |c| c.to_string());
        return Err(bad(
            path,
            format!("header declares shape {dims:?} ({shown} values), over the limit of {MAX_VALUES}"),
        ));
    };
    let need = count as usize * elem.size();
    if payload.len() < need {
        return Err(bad(
            path,
            format!(
                "truncated: shape {dims:?} of {elem:?} needs {need} payload bytes but only {} follow",
                payload.len()
            ),
        ));
    }
    if payload.len() > need {
        return Err(bad(
            path,
            format!("{} trailing bytes after the {need} payload bytes of shape {dims:?}", payload.len() - need),
        ));
    }
    if n == 0 {
        return Err(bad(path, format!("shape {dims:?} holds no examples; expected at least one")));
    }
    // Refused before the row's width is multiplied out: an empty axis would let the others
    // overflow it unseen, as the count above cannot.
    if row.contains(&0) {
        return Err(bad(path, format!("shape {dims:?} has an empty axis; expected rows of at least one value")));
    }
    let row_shape = if row.is_empty() { vec![1] } else { row.to_vec() };
    let mut values = to_f32(payload, elem, big);
    if fortran && dims.len() > 1 {
        values = fortran_to_c(&values, dims);
    }
    let width: usize = row.iter().product();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(
            path,
            format!(
                "row {} entry {}: {} (as f32); expected finite values",
                i / width.max(1),
                i % width.max(1),
                values[i]
            ),
        ));
    }
    Ok(Array { n, row_shape, values })
}

/// Reorders column-major values of shape `dims` into row-major order.
fn fortran_to_c(values: &[f32], dims: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    let mut idx = vec![0usize; dims.len()];
    for v in out.iter_mut() {
        // `idx` walks row-major; its column-major offset is sum idx[k] * prod(dims[..k]).
        let (mut off, mut stride) = (0, 1);
        for (k, &d) in dims.iter().enumerate() {
            off += idx[k] * stride;
            stride *= d;
        }
        *v = values[off];
        for k in (0..dims.len()).rev() {
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// What an array file's header says: the shape, how values are stored, and where they start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub(crate) dims: Vec<usize>,
    pub(crate) elem: Elem,
    pub(crate) big: bool,
    pub(crate) fortran: bool,
    /// The payload's first byte.
    pub(crate) offset: u64,
}

/// The bytes of a format-1.0 `.npy` file: a header of `descr` (such as `<f4`), `fortran_order`
/// and `shape` (written as Python writes a tuple, `(2, 3)` or `(5,)`), padded to 64 bytes as
/// numpy pads it, then `payload`. For writing arrays other programs read, and for tests.
pub fn npy_file(descr: &str, fortran_order: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
    let order = if fortran_order { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (11 + header.len()) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Parses a `.npy` file (format versions 1 to 3).
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<Array, DataError> {
    let h = npy_header(bytes, path)?;
    checked(path, &h.dims, h.elem, &bytes[h.offset as usize..], h.big, h.fortran)
}

/// The header of a `.npy` file from its first bytes (at least the whole header).
pub(crate) fn npy_header(bytes: &[u8], path: &Path) -> Result<Header, DataError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        let found: Vec<u8> = bytes.iter().take(6).copied().collect();
        return Err(bad(path, format!("bad .npy magic {found:02x?}; expected 93 4e 55 4d 50 59 (\\x93NUMPY)")));
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(bad(path, format!(".npy format version {v}; expected 1, 2 or 3"))),
    };
    let header = bytes.get(start..start.saturating_add(len)).ok_or_else(|| {
        bad(path, format!("truncated .npy header: {len} bytes declared, {} present", bytes.len() - start))
    })?;
    let header = std::str::from_utf8(header).map_err(|_| bad(path, ".npy header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\'').and_then(|r| r.split('\'').next()))
        .ok_or_else(|| bad(path, format!(".npy header without 'descr': {header:?}")))?;
    let fortran = match field("fortran_order") {
        Some(r) if r.starts_with("True") => true,
        Some(r) if r.starts_with("False") => false,
        _ => return Err(bad(path, format!(".npy header without 'fortran_order': {header:?}"))),
    };
    let shape = field("shape")
        .and_then(|r| r.strip_prefix('(').and_then(|r| r.split(')').next()))
        .ok_or_else(|| bad(path, format!(".npy header without 'shape': {header:?}")))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(path, format!(".npy shape ({shape}) is not a tuple of sizes")))?;
    // At the first character, not byte: a descr may start with any UTF-8 (found by fuzzing).
    let (order, code) = descr.split_at(descr.chars().next().map_or(0, char::len_utf8));
    let big = match order {
        ">" => true,
        "<" | "|" | "=" => false,
        _ => return Err(bad(path, format!("dtype {descr:?}; expected a byte order (<, > or |) and a type code"))),
    };
    let elem = match code {
        "f2" => Elem::F16,
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        "i1" => Elem::I8,
        "i2" => Elem::I16,
        "i4" => Elem::I32,
        "i8" => Elem::I64,
        "u1" => Elem::U8,
        "u2" => Elem::U16,
        "u4" => Elem::U32,
        "u8" => Elem::U64,
        "b1" => Elem::Bool,
        _ => {
            return Err(bad(
                path,
                format!(
                    "unsupported dtype {descr:?}; expected a float (f2, f4, f8), an integer (i1-i8, u1-u8) or bool"
                ),
            ));
        }
    };
    Ok(Header { dims, elem, big, fortran, offset: (start + len) as u64 })
}

/// The header of one tensor (`tensor`, or the only one) of a `.safetensors` file from its first
/// bytes (at least the whole header).
pub(crate) fn safetensors_header(bytes: &[u8], path: &Path, tensor: Option<&str>) -> Result<Header, DataError> {
    let len = bytes.get(..8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    let json = len
        .and_then(|n| bytes.get(8..8usize.checked_add(usize::try_from(n).ok()?)?))
        .ok_or_else(|| bad(path, "truncated safetensors header; expected an 8-byte length and that much JSON"))?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(json).map_err(|e| bad(path, format!("not a readable safetensors header: {e}")))?;
    let mut names: Vec<String> = map.keys().filter(|k| *k != "__metadata__").cloned().collect();
    names.sort();
    let name = pick(path, &names, tensor)?;
    let info = &map[&name];
    let dtype = info["dtype"].as_str().unwrap_or("");
    let elem = match dtype {
        "F16" => Elem::F16,
        "BF16" => Elem::Bf16,
        "F32" => Elem::F32,
        "F64" => Elem::F64,
        "I8" => Elem::I8,
        "I16" => Elem::I16,
        "I32" => Elem::I32,
        "I64" => Elem::I64,
        "U8" => Elem::U8,
        "U16" => Elem::U16,
        "U32" => Elem::U32,
        "U64" => Elem::U64,
        "BOOL" => Elem::Bool,
        other => {
            return Err(bad(
                path,
                format!("tensor {name}: unsupported dtype {other:?}; expected a float or integer type"),
            ));
        }
    };
    let dims: Option<Vec<usize>> =
        info["shape"].as_array().and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect());
    let start = info["data_offsets"][0].as_u64();
    match (dims, start) {
        (Some(dims), Some(start)) => {
            Ok(Header { dims, elem, big: false, fortran: false, offset: 8 + json.len() as u64 + start })
        }
        _ => Err(bad(path, format!("tensor {name}: header without a shape or data offsets"))),
    }
}

/// Reads the array of an `.npz` archive (one, or the one `tensor` names).
fn read_npz(bytes: &[u8], path: &Path, tensor: Option<&str>) -> Result<Array, DataError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(path, format!("not a readable .npz (zip) archive: {e}")))?;
    let names: Vec<String> = zip.file_names().map(|n| n.trim_end_matches(".npy").to_string()).collect();
    let name = pick(path, &names, tensor)?;
    let full = zip.file_names().find(|n| n.trim_end_matches(".npy") == name).unwrap_or(&name).to_string();
    let mut entry = zip.by_name(&full).map_err(|e| bad(path, format!("entry {name}: {e}")))?;
    if entry.size() as u128 > MAX_VALUES * 8 {
        return Err(bad(path, format!("entry {name} declares {} bytes, over the limit", entry.size())));
    }
    let mut data = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut data).map_err(|e| bad(path, format!("entry {name}: corrupt: {e}")))?;
    parse_npy(&data, &path.join(&name))
}

/// The one array to read: the only one, or the one `tensor` names.
fn pick(path: &Path, names: &[String], tensor: Option<&str>) -> Result<String, DataError> {
    match (tensor, names) {
        (Some(t), _) if names.iter().any(|n| n == t) => Ok(t.to_string()),
        (Some(t), _) => Err(bad(path, format!("--tensor {t}: no such tensor; expected one of {}", names.join(", ")))),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(bad(path, "holds no tensors; expected at least one")),
        (None, _) => {
            Err(bad(path, format!("holds {} tensors; name one with --tensor ({})", names.len(), names.join(", "))))
        }
    }
}

/// Parses a `.safetensors` file.
fn parse_safetensors(bytes: &[u8], path: &Path, tensor: Option<&str>) -> Result<Array, DataError> {
    use safetensors::Dtype;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| bad(path, format!("not a readable safetensors file: {e}")))?;
    let mut names: Vec<String> = st.names().into_iter().map(|n| n.to_string()).collect();
    names.sort();
    let name = pick(path, &names, tensor)?;
    let view = st.tensor(&name).map_err(|e| bad(path, format!("tensor {name}: {e}")))?;
    let elem = match view.dtype() {
        Dtype::F16 => Elem::F16,
        Dtype::BF16 => Elem::Bf16,
        Dtype::F32 => Elem::F32,
        Dtype::F64 => Elem::F64,
        Dtype::I8 => Elem::I8,
        Dtype::I16 => Elem::I16,
        Dtype::I32 => Elem::I32,
        Dtype::I64 => Elem::I64,
        Dtype::U8 => Elem::U8,
        Dtype::U16 => Elem::U16,
        Dtype::U32 => Elem::U32,
        Dtype::U64 => Elem::U64,
        Dtype::BOOL => Elem::Bool,
        other => {
            return Err(bad(
                path,
                format!("tensor {name}: unsupported dtype {other:?}; expected a float or integer type"),
            ));
        }
    };
    checked(path, view.shape(), elem, view.data(), false, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_orders_and_layouts_are_read() {
        let p = Path::new("a.npy");
        let f64s: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy_file("<f8", false, "(2, 3)", &f64s), p).unwrap();
        assert_eq!((a.n, a.row_shape.clone(), a.values), (2, vec![3], vec![1., 2., 3., 4., 5., 6.]));
        // Column-major: the same bytes are the transpose.
        let a = parse_npy(&npy_file("<f8", true, "(2, 3)", &f64s), p).unwrap();
        assert_eq!(a.values, [1., 3., 5., 2., 4., 6.]);
        let be: Vec<u8> = [1i32, -2].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(parse_npy(&npy_file(">i4", false, "(2,)", &be), p).unwrap().values, [1., -2.]);
        let u8s = parse_npy(&npy_file("|u1", false, "(1, 2, 2)", &[0, 255, 51, 0]), p).unwrap();
        assert_eq!((u8s.values, u8s.row_shape), (vec![0., 1., 0.2, 0.], vec![2, 2]));
        let h: Vec<u8> = [0.5f32, -1.0].iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy_file("<f2", false, "(1, 2)", &h), p).unwrap().values, [0.5, -1.0]);
    }

    #[test]
    fn bad_arrays_are_refused_before_allocating() {
        let p = Path::new("a.npy");
        for (bytes, want) in [
            (b"PK\x03\x04junkjunk".to_vec(), "a.npy: bad .npy magic"),
            (npy_file("<c8", false, "(2, 2)", &[0; 32]), "a.npy: unsupported dtype \"<c8\""),
            (
                npy_file("<f4", false, "(1, 4294967296, 4294967296, 0)", &[]),
                "a.npy: shape [1, 4294967296, 4294967296, 0] has an empty axis",
            ),
            (
                npy_file("<f4", false, "(4294967296, 4294967296, 4294967296, 4294967296, 4294967296)", &[]),
                "a.npy: header declares shape [4294967296, 4294967296, 4294967296, 4294967296, 4294967296] (more than 2^128 values)",
            ),
            (npy_file("\u{116}f4", false, "(2, 2)", &[0; 32]), "a.npy: dtype \"\u{116}f4\"; expected a byte order"),
            (
                npy_file("<f4", false, "(2, 2)", &[0; 12]),
                "a.npy: truncated: shape [2, 2] of F32 needs 16 payload bytes but only 12 follow",
            ),
            (npy_file("<f4", false, "(4611686018427387904, 4611686018427387904)", &[]), "a.npy: header declares shape"),
            (npy_file("<f4", false, "()", &[0; 4]), "a.npy: a scalar"),
            (npy_file("<f4", false, "(0, 3)", &[]), "a.npy: shape [0, 3] holds no examples"),
            (npy_file("<f4", false, "(1,)", &[0; 8]), "a.npy: 4 trailing bytes"),
            (
                npy_file("<f8", false, "(1, 2)", &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f]),
                "a.npy: row 0 entry 1: NaN (as f32); expected finite values",
            ),
        ] {
            let err = parse_npy(&bytes, p).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err} does not start with {want}");
        }
    }
}
