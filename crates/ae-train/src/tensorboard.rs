//! TensorBoard event files in the run directory's `tensorboard/` folder, so `tensorboard
//! --logdir runs/` shows every run: per step the loss and its parts and the learning rate, per
//! epoch the training and validation means, speed, and (given a picture source) the
//! reconstructions as an image. The format is TensorFlow's: TFRecord framing (length, masked
//! CRC-32C, payload, masked CRC-32C) around `Event` protobufs, written with `prost` from the
//! schema's messages below. On resume, events past the checkpoint's step are dropped from the
//! earlier files first, so no step appears twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::checkpoint::{RunDir, atomic_write};
use crate::error::TrainError;
use crate::observer::{EpochEnd, Observer, StepEnd, TrainStart};

/// The folder inside a run directory.
pub const TENSORBOARD_DIR: &str = "tensorboard";

/// What every event file's name starts with (TensorBoard reads files with `tfevents` in the name).
pub const EVENT_FILE_PREFIX: &str = "events.out.tfevents.";

/// `tensorflow.Event`, the fields written here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, optional, tag = "1")]
    pub wall_time: Option<f64>,
    /// The global training step.
    #[prost(int64, optional, tag = "2")]
    pub step: Option<i64>,
    /// `brain.Event:2` in a file's first event.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// The values logged.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// One entry per tag.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`: a scalar or an image under a tag.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// The series' name, `loss/total` or `epoch/val_loss`.
    #[prost(string, optional, tag = "1")]
    pub tag: Option<String>,
    /// A scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// An image.
    #[prost(message, optional, tag = "4")]
    pub image: Option<SummaryImage>,
}

/// `tensorflow.Summary.Image`: an encoded PNG and its size.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryImage {
    /// Pixels down.
    #[prost(int32, optional, tag = "1")]
    pub height: Option<i32>,
    /// Pixels across.
    #[prost(int32, optional, tag = "2")]
    pub width: Option<i32>,
    /// 1 grey, 3 RGB, 4 RGBA.
    #[prost(int32, optional, tag = "3")]
    pub colorspace: Option<i32>,
    /// The PNG file's bytes.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub encoded_image_string: Option<Vec<u8>>,
}

/// A picture for an image summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Its tag.
    pub tag: String,
    /// A PNG file's bytes.
    pub png: Vec<u8>,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u32,
}

/// Draws the picture an epoch logs (the reconstructions), or `None` to log none.
pub type PictureSource<'a> = Box<dyn FnMut(&EpochEnd) -> Option<Picture> + 'a>;

/// TensorFlow's masked CRC-32C of a record's parts.
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// `event` as one TFRecord.
pub fn record(event: &Event) -> Vec<u8> {
    let data = event.encode_to_vec();
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&masked_crc(&data).to_le_bytes());
    out
}

/// The events of an event file's `bytes`, stopping at the first record that is cut short or
/// fails its checksum (a kill during a write), with that record's offset.
pub fn read_events(bytes: &[u8]) -> (Vec<Event>, Option<usize>) {
    let mut events = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let whole = |n: usize| bytes.get(at..at + n);
        let Some(head) = whole(12) else { return (events, Some(at)) };
        let len = u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
        if crc != masked_crc(&head[..8]) || len > bytes.len() {
            return (events, Some(at));
        }
        let Some(body) = whole(12 + len + 4) else { return (events, Some(at)) };
        let data = &body[12..12 + len];
        let crc = u32::from_le_bytes(body[12 + len..].try_into().unwrap_or_default());
        let Ok(event) = Event::decode(data) else { return (events, Some(at)) };
        if crc != masked_crc(data) {
            return (events, Some(at));
        }
        events.push(event);
        at += 12 + len + 4;
    }
    (events, None)
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn scalar(tag: &str, v: f64) -> SummaryValue {
    SummaryValue { tag: Some(tag.into()), simple_value: Some(v as f32), image: None }
}

/// Writes a run's TensorBoard events; an [`Observer`].
pub struct TensorBoard<'a> {
    dir: PathBuf,
    file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    pictures: Option<PictureSource<'a>>,
}

impl<'a> TensorBoard<'a> {
    /// Events of `run`, in `run/tensorboard/`.
    pub fn new(run: &RunDir) -> Self {
        Self { dir: run.path().join(TENSORBOARD_DIR), file: None, pictures: None }
    }

    /// Also logs `source`'s picture after every epoch.
    pub fn with_pictures(mut self, source: PictureSource<'a>) -> Self {
        self.pictures = Some(source);
        self
    }

    /// The event files of the folder, oldest first (names start with the creation time).
    pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(TrainError::Io { path: dir.to_path_buf(), source }),
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(EVENT_FILE_PREFIX))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Rewrites the earlier files keeping events up to `step` (all of a fresh run's are
    /// removed), so a resumed run logs each step once.
    fn keep_until(&self, step: Option<u64>) -> Result<(), TrainError> {
        for path in Self::event_files(&self.dir)? {
            let Some(step) = step else {
                std::fs::remove_file(&path).map_err(TrainError::io(&path))?;
                continue;
            };
            let bytes = std::fs::read(&path).map_err(TrainError::io(&path))?;
            let (events, bad) = read_events(&bytes);
            let kept: Vec<&Event> = events.iter().filter(|e| e.step.unwrap_or(0) <= step as i64).collect();
            if kept.len() < events.len() || bad.is_some() {
                let bytes: Vec<u8> = kept.into_iter().flat_map(record).collect();
                atomic_write(&path, &bytes)?;
            }
        }
        Ok(())
    }

    /// Opens this process's event file, named as TensorFlow names them.
    fn open(&mut self) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(TrainError::io(&self.dir))?;
        let host = std::fs::read_to_string("/etc/hostname").map_or_else(|_| "ae".into(), |h| h.trim().to_string());
        let t = now();
        // Seconds, then microseconds and the process, so a quick restart gets a later name.
        let name =
            format!("{EVENT_FILE_PREFIX}{:010}.{host}.{}.{}", t as u64, (t.fract() * 1e6) as u64, std::process::id());
        let path = self.dir.join(name);
        let f = std::fs::File::create(&path).map_err(TrainError::io(&path))?;
        self.file = Some((path, std::io::BufWriter::new(f)));
        self.write(&Event {
            wall_time: Some(t),
            step: Some(0),
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })
    }

    fn write(&mut self, event: &Event) -> Result<(), TrainError> {
        if let Some((path, f)) = &mut self.file {
            f.write_all(&record(event)).map_err(TrainError::io(path.as_path()))?;
        }
        Ok(())
    }

    fn log(&mut self, step: u64, value: Vec<SummaryValue>) -> Result<(), TrainError> {
        let event = Event {
            wall_time: Some(now()),
            step: Some(step as i64),
            file_version: None,
            summary: Some(Summary { value }),
        };
        self.write(&event)
    }

    fn flush(&mut self) -> Result<(), TrainError> {
        if let Some((path, f)) = &mut self.file {
            f.flush().map_err(TrainError::io(path.as_path()))?;
        }
        Ok(())
    }
}

/// The loss terms under `prefix`: `total`, `recon` and, where the model has them, `kl` and
/// `sparsity`.
fn loss_values(prefix: &str, l: &ae_core::LossValues) -> Vec<SummaryValue> {
    let mut v = vec![scalar(&format!("{prefix}loss"), l.total), scalar(&format!("{prefix}recon"), l.recon)];
    v.extend(l.kl.map(|k| scalar(&format!("{prefix}kl"), k)));
    v.extend(l.sparsity.map(|s| scalar(&format!("{prefix}sparsity"), s)));
    v
}

impl Observer for TensorBoard<'_> {
    fn on_train_start(&mut self, start: &TrainStart) -> Result<(), TrainError> {
        let keep = if start.start_epoch > 0 || start.resumed_step.is_some() { start.resumed_step } else { None };
        self.keep_until(keep)?;
        self.open()
    }

    /// A failed write shows at the epoch's flush.
    fn on_step(&mut self, step: &StepEnd) {
        let mut values = loss_values("step/", &step.loss);
        values.push(scalar("step/lr", step.lr));
        let _ = self.log(step.step, values);
    }

    fn on_epoch_end(&mut self, e: &EpochEnd) -> Result<(), TrainError> {
        let mut values = loss_values("epoch/train_", &e.train);
        if let Some(val) = &e.val {
            values.extend(loss_values("epoch/val_", val));
        }
        values.extend([
            scalar("epoch/epoch", e.epoch as f64),
            scalar("epoch/lr", e.lr),
            scalar("epoch/seconds", e.seconds),
            scalar("epoch/examples_per_second", e.examples_per_second),
        ]);
        if let Some(p) = self.pictures.as_mut().and_then(|source| source(e)) {
            values.push(SummaryValue {
                tag: Some(p.tag),
                simple_value: None,
                image: Some(SummaryImage {
                    height: Some(p.height as i32),
                    width: Some(p.width as i32),
                    colorspace: Some(p.channels as i32),
                    encoded_image_string: Some(p.png),
                }),
            });
        }
        self.log(e.step, values)?;
        self.flush()
    }

    fn on_train_end(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_cut_or_corrupt_tail_is_found() {
        // CRC-32C's check value, then TensorFlow's mask: rotate right by 15, add 0xa282ead8.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // ((0xe3069283 >> 15) | (0xe3069283 << 17)) + 0xa282ead8 modulo 2^32, as TensorFlow's
        // crc32c::Mask computes it.
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
        let events: Vec<Event> = (0..3)
            .map(|i| Event {
                wall_time: Some(1.5),
                step: Some(i),
                file_version: None,
                summary: Some(Summary { value: vec![scalar("a", i as f64)] }),
            })
            .collect();
        let bytes: Vec<u8> = events.iter().flat_map(record).collect();
        assert_eq!(read_events(&bytes), (events.clone(), None));
        let cut = &bytes[..bytes.len() - 3];
        assert_eq!(read_events(cut), (events[..2].to_vec(), Some(record(&events[0]).len() * 2)));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 6;
        flipped[last] ^= 1;
        assert_eq!(read_events(&flipped).0.len(), 2);
    }
}
