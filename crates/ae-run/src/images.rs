//! Pictures: grids of grey or colour images written as PNG.

use std::path::Path;

use candle_core::Tensor;
use image::{ColorType, GrayImage, Luma};

use crate::error::RunError;

/// Pixels between tiles.
const PAD: u32 = 2;

/// Writes `rows` of equally sized images (each a flat slice of `h*w` grey values, or `3*h*w`
/// channel-major colour values, in [0, 1]) as one PNG grid, `PAD` pixels apart on a black
/// background; the grid is in colour when any tile is.
pub fn save_grid(path: &Path, rows: &[Vec<Vec<f32>>], shape: (usize, usize)) -> Result<(), RunError> {
    write_png(path, grid_image(rows, shape))
}

/// The picture [`save_grid`] writes, in memory: grey, or RGB when any tile is in colour.
pub fn grid_image(rows: &[Vec<Vec<f32>>], (h, w): (usize, usize)) -> image::DynamicImage {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (h32, w32) = (h as u32, w as u32);
    let width = cols * w32 + (cols + 1) * PAD;
    let height = rows.len() as u32 * h32 + (rows.len() as u32 + 1) * PAD;
    let colour = rows.iter().flatten().any(|t| t.len() == 3 * h * w && h * w > 0);
    let mut rgb = image::RgbImage::new(if colour { width.max(1) } else { 1 }, if colour { height.max(1) } else { 1 });
    let mut grey = GrayImage::new(if colour { 1 } else { width.max(1) }, if colour { 1 } else { height.max(1) });
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    for (r, row) in rows.iter().enumerate() {
        for (c, tile) in row.iter().enumerate() {
            let (x0, y0) = (PAD + c as u32 * (w32 + PAD), PAD + r as u32 * (h32 + PAD));
            let plane = h * w;
            for i in 0..plane.min(tile.len()) {
                let (x, y) = (x0 + (i % w) as u32, y0 + (i / w) as u32);
                if !colour {
                    grey.put_pixel(x, y, Luma([byte(tile[i])]));
                } else if tile.len() == 3 * plane {
                    rgb.put_pixel(x, y, image::Rgb([byte(tile[i]), byte(tile[plane + i]), byte(tile[2 * plane + i])]));
                } else {
                    rgb.put_pixel(x, y, image::Rgb([byte(tile[i]); 3]));
                }
            }
        }
    }
    if colour { rgb.into() } else { grey.into() }
}

/// `img` as a PNG file's bytes.
pub fn png_bytes(img: &image::DynamicImage) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)?;
    Ok(bytes.into_inner())
}

/// Originals over their reconstructions, rows of 8 as [`save_reconstructions`] draws them, as
/// a TensorBoard image summary tagged `reconstructions`.
pub fn reconstructions_picture(
    originals: &Tensor,
    reconstructions: &Tensor,
    shape: (usize, usize),
) -> Result<ae_train::tensorboard::Picture, RunError> {
    let img = grid_image(&reconstruction_rows(originals, reconstructions)?, shape);
    let png =
        png_bytes(&img).map_err(|e| RunError::file("reconstructions", format!("cannot encode the image: {e}")))?;
    let channels = u32::from(img.color().channel_count());
    Ok(ae_train::tensorboard::Picture {
        tag: "reconstructions".into(),
        png,
        width: img.width(),
        height: img.height(),
        channels,
    })
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

/// `tiles` in a grid as close to square as possible (64 gives 8x8).
pub fn save_square_grid(path: &Path, tiles: &[Vec<f32>], shape: (usize, usize)) -> Result<(), RunError> {
    let cols = (tiles.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows: Vec<Vec<Vec<f32>>> = tiles.chunks(cols).map(<[Vec<f32>]>::to_vec).collect();
    save_grid(path, &rows, shape)
}

/// Originals over their reconstructions: `pairs` pairs of rows of 8, as pytorch/examples saves
/// them. `originals` and `reconstructions` are `(n, h*w)` with n >= 8 * pairs (fewer are shown if
/// not).
pub fn save_reconstructions(
    path: &Path,
    originals: &Tensor,
    reconstructions: &Tensor,
    shape: (usize, usize),
) -> Result<(), RunError> {
    save_grid(path, &reconstruction_rows(originals, reconstructions)?, shape)
}

/// Rows of 8 originals, each over its 8 reconstructions.
fn reconstruction_rows(originals: &Tensor, reconstructions: &Tensor) -> Result<Vec<Vec<Vec<f32>>>, RunError> {
    let a = originals.to_vec2::<f32>()?;
    let b = reconstructions.to_vec2::<f32>()?;
    let mut rows = Vec::new();
    for (oa, ob) in a.chunks(8).zip(b.chunks(8)) {
        rows.push(oa.to_vec());
        rows.push(ob.to_vec());
    }
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_expected_size_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        let white = vec![1.0f32; 4];
        save_grid(&path, &[vec![white.clone(), white.clone()], vec![white]], (2, 2)).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        assert_eq!(img.dimensions(), (2 * 2 + 3 * PAD, 2 * 2 + 3 * PAD));
        assert_eq!(img.get_pixel(PAD, PAD).0, [255]);
        assert_eq!(img.get_pixel(0, 0).0, [0]);
        assert_eq!(img.get_pixel(PAD + 2 + PAD, PAD + 2 + PAD).0, [0], "the second row has one tile");
    }
}
