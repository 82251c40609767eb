//! A folder of PNG and JPEG images, flat or with one subfolder per class as torchvision's
//! `ImageFolder` has them (the subfolder names become the class names). Images decode in
//! parallel and scale to [0, 1], channel-major. `--channels` converts grey and colour; without
//! it, the folder's images are grey when all of them are, colour otherwise. `--image-size HxW`
//! crops each image to that aspect ratio about its centre and resizes it; without it, images of
//! different sizes are refused, naming two of them.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::DataConfig;
use crate::error::DataError;
use crate::file_source::{RowReader, Rows};
use crate::normalize::Normalize;
use crate::shape::SampleShape;

/// Image files read.
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];
/// Image files refused by name rather than skipped as not images.
const OTHER_IMAGES: [&str; 7] = ["gif", "bmp", "webp", "tif", "tiff", "ico", "pnm"];

/// The size images are brought to, `--image-size HxW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
}

impl std::str::FromStr for ImageSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |v: &str| v.trim().parse::<u32>().ok().filter(|&n| (1..=8192).contains(&n));
        match s.split_once(['x', 'X']) {
            Some((h, w)) => match (parse(h), parse(w)) {
                (Some(height), Some(width)) => Ok(ImageSize { height, width }),
                _ => Err(format!("{s:?}: expected HxW with each side from 1 to 8192, e.g. 64x64")),
            },
            None => Err(format!("{s:?}: expected HxW, e.g. 64x64")),
        }
    }
}

/// Folders of images.
#[derive(Debug, Clone, Copy)]
pub struct ImageFolderReader;

impl RowReader for ImageFolderReader {
    fn accepts(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn read(&self, path: &Path, cfg: &DataConfig) -> Result<Rows, DataError> {
        let files = list(path)?;
        let decoded: Vec<image::DynamicImage> =
            files.par_iter().map(|(file, _)| decode(file)).collect::<Result<_, _>>()?;
        let channels =
            cfg.channels.unwrap_or_else(|| if decoded.iter().all(|i| !i.color().has_color()) { 1 } else { 3 });
        let (height, width) = match cfg.image_size {
            Some(s) => (s.height, s.width),
            None => {
                let (w, h) = (decoded[0].width(), decoded[0].height());
                if let Some(k) = decoded.iter().position(|i| (i.width(), i.height()) != (w, h)) {
                    return Err(DataError::File {
                        path: files[k].0.clone(),
                        why: format!(
                            "{}x{} (HxW) but {} is {h}x{w}; expected images of one size, or --image-size HxW to crop and resize them",
                            decoded[k].height(),
                            decoded[k].width(),
                            files[0].0.display()
                        ),
                    });
                }
                (h, w)
            }
        };
        let values: Vec<f32> =
            decoded.into_par_iter().flat_map_iter(|img| pixels(fit(img, height, width), channels)).collect();
        let labelled = files.iter().any(|(_, c)| c.is_some());
        Ok(Rows {
            shape: SampleShape::Image { channels, height: height as usize, width: width as usize },
            values,
            labels: labelled.then(|| files.iter().map(|(_, c)| c.clone().unwrap_or_default()).collect()),
            feature_names: Vec::new(),
            row_names: files.iter().map(|(f, _)| f.display().to_string()).collect(),
            normalize: Normalize::None,
            class_names: Vec::new(),
        })
    }
}

/// Image files for a model trained on images of `shape`, flat and channel-major: converted to its
/// channels when `convert_channels` (the run was trained with `--channels`), cropped and resized
/// to its size when `resize` (trained with `--image-size`); otherwise each must already match,
/// or it is refused naming the file, its size and colour, and what the model takes.
pub fn read_images_as(
    files: &[PathBuf],
    shape: SampleShape,
    convert_channels: bool,
    resize: bool,
) -> Result<Vec<f32>, DataError> {
    let SampleShape::Image { channels, height, width } = shape else {
        return Err(DataError::File {
            path: files.first().cloned().unwrap_or_default(),
            why: format!("an image, but the model was trained on {shape}; expected rows of that width"),
        });
    };
    let (h, w) = (height as u32, width as u32);
    let per_file: Vec<Vec<f32>> = files
        .par_iter()
        .map(|file| {
            let img = decode(file)?;
            let colour = img.color().has_color();
            let refuse = |what: String, fix: &str| DataError::File {
                path: file.clone(),
                why: format!("{what}; expected {shape} (what the model was trained on){fix}"),
            };
            if !convert_channels && colour != (channels == 3) {
                let what = format!("a {} image", if colour { "colour" } else { "grey" });
                return Err(refuse(what, ", or a run trained with --channels to convert"));
            }
            if !resize && (img.height(), img.width()) != (h, w) {
                let what = format!("{}x{} (HxW) pixels", img.height(), img.width());
                return Err(refuse(what, ", or a run trained with --image-size to resize"));
            }
            Ok(pixels(fit(img, h, w), channels))
        })
        .collect::<Result<_, DataError>>()?;
    Ok(per_file.concat())
}

/// The images of `dir` with their class (the subfolder's name), sorted: class subfolders when
/// there are any, else the images in `dir` itself.
fn list(dir: &Path) -> Result<Vec<(PathBuf, Option<String>)>, DataError> {
    let mut subdirs = Vec::new();
    let mut flat = Vec::new();
    for entry in entries(dir)? {
        let meta = std::fs::metadata(&entry).map_err(|source| DataError::Io { path: entry.clone(), source })?;
        if meta.is_dir() {
            subdirs.push(entry);
        } else if let Some(f) = image_file(&entry, meta.len())? {
            flat.push((f, None));
        }
    }
    let mut out = Vec::new();
    for sub in &subdirs {
        let class = sub.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for entry in entries(sub)? {
            let meta = std::fs::metadata(&entry).map_err(|source| DataError::Io { path: entry.clone(), source })?;
            if meta.is_file()
                && let Some(f) = image_file(&entry, meta.len())?
            {
                out.push((f, Some(class.clone())));
            }
        }
    }
    if out.is_empty() {
        out = flat;
    }
    if out.is_empty() {
        return Err(DataError::File {
            path: dir.to_path_buf(),
            why: "a folder without images; expected .png or .jpg files in it, or in one subfolder per class".into(),
        });
    }
    Ok(out)
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let read = std::fs::read_dir(dir).map_err(|source| DataError::Io { path: dir.to_path_buf(), source })?;
    let mut out: Vec<PathBuf> = read
        .map(|e| e.map(|e| e.path()).map_err(|source| DataError::Io { path: dir.to_path_buf(), source }))
        .collect::<Result<_, _>>()?;
    out.sort();
    Ok(out)
}

/// `path` when it is a PNG or JPEG by extension; an error for other image formats and for empty
/// image files; `None` for files that are not images.
fn image_file(path: &Path, len: u64) -> Result<Option<PathBuf>, DataError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if OTHER_IMAGES.contains(&ext.as_str()) {
        return Err(DataError::File {
            path: path.to_path_buf(),
            why: format!("unsupported image format .{ext}; expected PNG or JPEG (.png, .jpg, .jpeg)"),
        });
    }
    if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return Ok(None);
    }
    if len == 0 {
        return Err(DataError::File { path: path.to_path_buf(), why: "an empty (zero-byte) image file".into() });
    }
    Ok(Some(path.to_path_buf()))
}

fn decode(path: &Path) -> Result<image::DynamicImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    image::load_from_memory(&bytes).map_err(|e| DataError::File {
        path: path.to_path_buf(),
        why: format!("cannot decode the image ({e}); expected an intact PNG or JPEG"),
    })
}

/// `img` cropped about its centre to the aspect ratio of `height x width`, then resized to it.
fn fit(img: image::DynamicImage, height: u32, width: u32) -> image::DynamicImage {
    if (img.height(), img.width()) == (height, width) {
        return img;
    }
    let (w, h) = (img.width() as u64, img.height() as u64);
    // The largest crop of the target's aspect ratio.
    let (cw, ch) = if w * height as u64 > h * width as u64 {
        ((h * width as u64 / height as u64).max(1), h)
    } else {
        (w, (w * height as u64 / width as u64).max(1))
    };
    let cropped = img.crop_imm(((w - cw) / 2) as u32, ((h - ch) / 2) as u32, cw as u32, ch as u32);
    cropped.resize_exact(width, height, image::imageops::FilterType::Triangle)
}

/// Channel-major pixels in [0, 1].
fn pixels(img: image::DynamicImage, channels: usize) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if channels == 1 {
        return img.to_luma8().into_raw().into_iter().map(|p| f32::from(p) / 255.0).collect();
    }
    let rgb = img.to_rgb8().into_raw();
    let mut out = vec![0.0; 3 * w * h];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * w * h + i] = f32::from(px[c]) / 255.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_strictly() {
        assert_eq!("64x32".parse::<ImageSize>().unwrap(), ImageSize { height: 64, width: 32 });
        assert!("64".parse::<ImageSize>().unwrap_err().contains("expected HxW"));
        assert!("0x5".parse::<ImageSize>().is_err());
    }

    #[test]
    fn crops_keep_the_centre_and_the_aspect() {
        let mut img = image::RgbImage::new(40, 20);
        img.put_pixel(20, 10, image::Rgb([255, 0, 0]));
        let out = fit(image::DynamicImage::ImageRgb8(img), 10, 10);
        assert_eq!((out.width(), out.height()), (10, 10));
        let px = pixels(out, 3);
        assert_eq!(px.len(), 300);
        assert!(px[..100].iter().any(|&p| p > 0.1), "the red centre survives the crop");
    }
}
