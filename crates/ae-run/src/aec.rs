//! The `.aec` file: images stored as their autoencoder codes, quantised.
//!
//! Layout: the magic `AEC2`; a little-endian u32 header length; the header, JSON ([`Header`]:
//! which model made the codes, their width and quantisation, the image names, and for 8-bit codes
//! each dimension's offset and step); then the codes, image after image, as little-endian f32, f16,
//! or u8 (`value = offset + q * step` per dimension); then the CRC-32 (IEEE, little-endian u32) of
//! every byte before it, so a flipped byte is refused rather than decoded into another image.
//! Files of the first version (`AEC1`: the same without the checksum) are still read.

use serde::{Deserialize, Serialize};

use crate::RunError;

/// The first bytes of the files `ae compress` writes.
pub const MAGIC: &[u8; 4] = b"AEC2";

/// The first bytes of the first version's files, which had no checksum.
pub const MAGIC_V1: &[u8; 4] = b"AEC1";

/// How code values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    /// 4 bytes a value, exact.
    F32,
    /// 2 bytes a value (IEEE half precision).
    F16,
    /// 1 byte a value: 256 even steps between each dimension's smallest and largest value.
    U8,
}

impl Quant {
    /// Every kind, for reports.
    pub const ALL: [Quant; 3] = [Quant::F32, Quant::F16, Quant::U8];

    /// Its name in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::F16 => "f16",
            Quant::U8 => "u8",
        }
    }

    /// Bytes a value.
    pub fn width(self) -> usize {
        match self {
            Quant::F32 => 4,
            Quant::F16 => 2,
            Quant::U8 => 1,
        }
    }
}

/// Which model made the codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelId {
    /// Its kind (`stacked`, `vae`, ...).
    pub kind: String,
    /// Pixels per image.
    pub input_dim: usize,
    /// FNV-1a (64-bit) of the weights file, hex: decompressing with other weights is refused.
    pub weights_fnv1a64: String,
}

/// The JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The model.
    pub model: ModelId,
    /// Values per code.
    pub code_dim: usize,
    /// Image height and width.
    pub image_shape: [usize; 2],
    /// The storage of the values.
    pub quant: Quant,
    /// One name per example, in order: an image's path relative to the folder it came from
    /// (where decompress writes it), or a row's (`line 12`, `data.npy[3]`).
    pub names: Vec<String>,
    /// What the codes rebuild: images of a size and colour, or rows of features; 28x28-style
    /// grey images of `image_shape` when absent (files written before rows and colour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<ae_data::SampleShape>,
    /// Rows: the names of their columns, for the header of the rebuilt table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// U8 only: per dimension, the value of step 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offset: Vec<f32>,
    /// U8 only: per dimension, the value of one step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step: Vec<f32>,
}

/// FNV-1a, 64-bit: a fingerprint of a weights file.
pub fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

/// Quantises `codes` (one row per image) as `quant`: the stored bytes and, for U8, each
/// dimension's offset and step.
pub fn quantise(codes: &[Vec<f32>], quant: Quant) -> (Vec<u8>, Vec<f32>, Vec<f32>) {
    let dim = codes.first().map_or(0, Vec::len);
    match quant {
        Quant::F32 => (codes.iter().flatten().flat_map(|v| v.to_le_bytes()).collect(), vec![], vec![]),
        Quant::F16 => {
            (codes.iter().flatten().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect(), vec![], vec![])
        }
        Quant::U8 => {
            let mut lo = vec![f32::INFINITY; dim];
            let mut hi = vec![f32::NEG_INFINITY; dim];
            for row in codes {
                for (j, &v) in row.iter().enumerate() {
                    lo[j] = lo[j].min(v);
                    hi[j] = hi[j].max(v);
                }
            }
            let step: Vec<f32> = lo.iter().zip(&hi).map(|(l, h)| if h > l { (h - l) / 255.0 } else { 1.0 }).collect();
            let offset: Vec<f32> = lo.iter().map(|l| if l.is_finite() { *l } else { 0.0 }).collect();
            let bytes = codes
                .iter()
                .flat_map(|row| {
                    row.iter().enumerate().map(|(j, &v)| ((v - offset[j]) / step[j]).round().clamp(0.0, 255.0) as u8)
                })
                .collect();
            (bytes, offset, step)
        }
    }
}

/// The code values stored in `bytes` as `quant` (8-bit: with each dimension's `offset` and
/// `step`), one row of `code_dim` per image.
pub fn dequantise(bytes: &[u8], quant: Quant, code_dim: usize, offset: &[f32], step: &[f32]) -> Vec<Vec<f32>> {
    let values: Vec<f32> = match quant {
        Quant::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Quant::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Quant::U8 => {
            bytes.iter().enumerate().map(|(i, &q)| offset[i % code_dim] + f32::from(q) * step[i % code_dim]).collect()
        }
    };
    values.chunks(code_dim.max(1)).map(<[f32]>::to_vec).collect()
}

/// The whole file.
pub fn encode(header: &Header, payload: &[u8]) -> Result<Vec<u8>, RunError> {
    let too_large = |reason: String| RunError::Inconsistent { field: "aec header", reason };
    let json = serde_json::to_vec(header).map_err(|e| too_large(e.to_string()))?;
    let len = u32::try_from(json.len()).map_err(|_| too_large(format!("{} bytes is too large", json.len())))?;
    let mut out = Vec::with_capacity(12 + json.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Parses a file (`name` for errors): the checksum first (version 2), then the header, whose
/// names must be distinct, and the payload, which must be exactly as long as the header says.
pub fn decode<'a>(bytes: &'a [u8], name: &str) -> Result<(Header, &'a [u8]), RunError> {
    let bad = |reason: String| RunError::file(name, reason);
    let bytes =
        match bytes.get(..4) {
            Some(m) if m == MAGIC => {
                let Some(body_len) = bytes.len().checked_sub(4).filter(|&n| n >= 8) else {
                    return Err(bad(format!("truncated: {} bytes is too short for an .aec file", bytes.len())));
                };
                let (body, crc) = bytes.split_at(body_len);
                let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
                let actual = crc32fast::hash(body);
                if stored != actual {
                    return Err(bad(format!(
                        "checksum mismatch (stored {stored:08x}, computed {actual:08x}): the file is damaged or \
                     truncated; nothing was decoded"
                    )));
                }
                body
            }
            Some(m) if m == MAGIC_V1 => bytes,
            _ => return Err(bad(
                "not an .aec file (expected it to start with \"AEC2\", as `ae compress` writes, or the older \"AEC1\")"
                    .into(),
            )),
        };
    if bytes.len() < 8 {
        return Err(bad(format!("truncated: {} bytes is too short for an .aec file", bytes.len())));
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let Some(json) = bytes.get(8..8 + len) else {
        return Err(bad(format!("truncated: the header declares {len} bytes but only {} follow", bytes.len() - 8)));
    };
    let header: Header =
        serde_json::from_slice(json).map_err(|e| bad(format!("the header is not valid: expected aec JSON: {e}")))?;
    let payload = &bytes[8 + len..];
    let want = header.names.len().checked_mul(header.code_dim).and_then(|n| n.checked_mul(header.quant.width()));
    if want != Some(payload.len()) {
        return Err(bad(format!(
            "{} bytes of codes, expected {} ({} images x {} values x {} bytes)",
            payload.len(),
            want.map_or("too many".into(), |w| w.to_string()),
            header.names.len(),
            header.code_dim,
            header.quant.width()
        )));
    }
    // Each image's name becomes a file under decompress's output folder: it must be a relative
    // path of plain names, and no two alike, or one image would overwrite another or land
    // elsewhere. Rows are written into one table, so their names are only labels.
    let plain = |n: &str| {
        !n.is_empty() && !n.contains(['\\', '\0']) && n.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
    };
    let images = !matches!(header.sample, Some(ae_data::SampleShape::Features(_)));
    if let Some(name) = header.names.iter().find(|n| images && !plain(n)) {
        return Err(bad(format!(
            "the image name {name:?} is not a relative path of plain names; expected names such as \"digit-0.png\" \
             or \"cat/1.png\""
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(bad(format!(
            "the image name {dup:?} appears more than once; each decoded image needs its own name"
        )));
    }
    if header.quant == Quant::U8 && (header.offset.len() != header.code_dim || header.step.len() != header.code_dim) {
        return Err(bad(format!("8-bit codes need an offset and a step per dimension ({} each)", header.code_dim)));
    }
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(quant: Quant, offset: Vec<f32>, step: Vec<f32>) -> Header {
        Header {
            model: ModelId { kind: "stacked".into(), input_dim: 4, weights_fnv1a64: fnv1a64(b"w") },
            code_dim: 3,
            image_shape: [2, 2],
            quant,
            names: vec!["a.png".into(), "b.png".into()],
            sample: None,
            columns: vec![],
            offset,
            step,
        }
    }

    #[test]
    fn codes_round_trip_within_their_quantisation() {
        let codes = vec![vec![0.5f32, -2.0, 10.0], vec![1.5, 3.0, 10.0]];
        for (quant, tolerance) in [(Quant::F32, 0.0), (Quant::F16, 0.01), (Quant::U8, 5.0 / 255.0 / 2.0 + 1e-6)] {
            let (bytes, offset, step) = quantise(&codes, quant);
            assert_eq!(bytes.len(), 6 * quant.width());
            let file = encode(&header(quant, offset, step), &bytes).unwrap();
            let (h, payload) = decode(&file, "x.aec").unwrap();
            let back = dequantise(payload, h.quant, h.code_dim, &h.offset, &h.step);
            for (r, b) in codes.iter().zip(&back) {
                for (x, y) in r.iter().zip(b) {
                    assert!((x - y).abs() <= tolerance * x.abs().max(1.0), "{quant:?}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn damaged_files_are_refused_naming_the_fault() {
        let (bytes, ..) = quantise(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]], Quant::F16);
        let file = encode(&header(Quant::F16, vec![], vec![]), &bytes).unwrap();
        let mut flipped = file.clone();
        let last_code = file.len() - 5;
        flipped[last_code] ^= 0x10;
        // The first version's layout: the same bytes under `AEC1`, without the checksum.
        let mut v1 = file[..file.len() - 4].to_vec();
        v1[..4].copy_from_slice(MAGIC_V1);
        assert_eq!(decode(&v1, "x.aec").unwrap().1, &bytes[..], "version 1 files are still read");
        let mut dup = header(Quant::F16, vec![], vec![]);
        dup.names = vec!["a.png".into(), "a.png".into()];
        let mut escape = header(Quant::F16, vec![], vec![]);
        escape.names = vec!["../a.png".into(), "b.png".into()];
        let mut absolute = header(Quant::F16, vec![], vec![]);
        absolute.names = vec!["/tmp/a.png".into(), "b.png".into()];
        for (bad, want) in [
            (b"PNG!xxxxxxxx".to_vec(), "not an .aec file"),
            (file[..20].to_vec(), "checksum mismatch"),
            (file[..file.len() - 1].to_vec(), "checksum mismatch"),
            (flipped, "checksum mismatch"),
            (v1[..20].to_vec(), "truncated: the header declares"),
            (v1[..v1.len() - 1].to_vec(), "11 bytes of codes, expected 12 (2 images x 3 values x 2 bytes)"),
            (encode(&dup, &bytes).unwrap(), "the image name \"a.png\" appears more than once"),
            (encode(&escape, &bytes).unwrap(), "the image name \"../a.png\" is not a relative path of plain names"),
            (encode(&absolute, &bytes).unwrap(), "the image name \"/tmp/a.png\" is not a relative path"),
        ] {
            let err = decode(&bad, "x.aec").unwrap_err().to_string();
            assert!(err.starts_with("x.aec: ") && err.contains(want), "{err}");
        }
        assert_ne!(fnv1a64(b"a"), fnv1a64(b"b"));
    }
}
