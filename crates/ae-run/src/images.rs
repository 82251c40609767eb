//! PNG files: reading and writing single images, and the one atomic PNG writer every picture
//! goes through (grids of images are [`crate::grid`]).

use std::path::Path;

use image::{ColorType, GrayImage};

use crate::error::RunError;

/// `img` as a PNG file's bytes.
pub fn png_bytes(img: &image::DynamicImage) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)?;
    Ok(bytes.into_inner())
}

/// Writes `img` as a PNG through ae's one atomic writer: encoded in memory first, so a full disk
/// fails the command (image's own `save` drops its buffered writer's last error and leaves a
/// 0-byte file), then temp file, fsync, rename, fsync of the folder; the temp file is removed
/// on every error.
pub fn write_png(path: &Path, img: impl Into<image::DynamicImage>) -> Result<(), RunError> {
    let bytes = png_bytes(&img.into()).map_err(|e| RunError::file(path, format!("cannot encode the image: {e}")))?;
    ae_train::checkpoint::atomic_write(path, &bytes)?;
    Ok(())
}

/// The `(height, width)` of an image with `pixels` values: square where it can be (784 gives
/// 28x28), else one row.
pub fn image_shape(pixels: usize) -> (usize, usize) {
    let side = (pixels as f64).sqrt().round() as usize;
    if side * side == pixels { (side, side) } else { (1, pixels) }
}

/// Pixels in [0, 1] of an 8- or 16-bit grayscale PNG of exactly `(h, w)`.
pub fn read_gray(path: &Path, (h, w): (usize, usize)) -> Result<Vec<f32>, RunError> {
    let img = image::open(path).map_err(|e| RunError::file(path, format!("not a readable PNG: {e}")))?;
    let expected = format!("expected an 8- or 16-bit grayscale PNG of {w}x{h} pixels (the model's input)");
    let pixels: Vec<f32> = match img.color() {
        ColorType::L8 => img.to_luma8().pixels().map(|p| f32::from(p.0[0]) / 255.0).collect(),
        ColorType::L16 => img.to_luma16().pixels().map(|p| f32::from(p.0[0]) / 65535.0).collect(),
        other => return Err(RunError::file(path, format!("colour type {other:?}; {expected}"))),
    };
    if (img.height() as usize, img.width() as usize) != (h, w) {
        return Err(RunError::file(path, format!("{}x{} pixels; {expected}", img.width(), img.height())));
    }
    Ok(pixels)
}

/// Writes `pixels` (in [0, 1]) as an 8-bit grayscale PNG, atomically.
pub fn write_gray(path: &Path, pixels: &[f32], (h, w): (usize, usize)) -> Result<(), RunError> {
    let bytes: Vec<u8> = pixels.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    let img = GrayImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| RunError::file(path, format!("{} pixels do not make a {w}x{h} image", pixels.len())))?;
    write_png(path, img)
}

/// Writes one example of `shape` (values in [0, 1], channel-major) as an 8-bit grey or RGB PNG.
pub fn write_image(path: &Path, values: &[f32], shape: ae_data::SampleShape) -> Result<(), RunError> {
    let ae_data::SampleShape::Image { channels, height, width } = shape else {
        return Err(RunError::file(path, format!("the model's examples are {shape}, not images")));
    };
    if channels == 1 {
        return write_gray(path, values, (height, width));
    }
    let plane = height * width;
    if channels != 3 || values.len() != 3 * plane {
        return Err(RunError::file(path, format!("{} values do not make a {shape}", values.len())));
    }
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let bytes: Vec<u8> = (0..plane).flat_map(|i| (0..3).map(move |c| byte(values[c * plane + i]))).collect();
    let img = image::RgbImage::from_raw(width as u32, height as u32, bytes)
        .ok_or_else(|| RunError::file(path, format!("{} values do not make a {shape}", values.len())))?;
    write_png(path, img)
}
