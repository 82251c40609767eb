//! A scatter plot of 2-D codes coloured by label, with a legend, written as PNG. Drawn by hand
//! on an RGB buffer with a 3x5 bitmap font for the digits 0-9, so no font file is needed.

use std::path::Path;

use anyhow::Context;
use image::{Rgb, RgbImage};

/// Matplotlib's tab10 palette, one colour per label 0-9.
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// The digits 0-9, 3 pixels wide and 5 high, one row of bits per line (most significant left).
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b001, 0b001, 0b001],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Side of the square plot area, pixels.
const AREA: u32 = 440;
/// Margin around the plot area, pixels.
const MARGIN: u32 = 20;
/// Width of the legend column, pixels.
const LEGEND: u32 = 60;
/// Scale of the legend digits (3x5 pixels each at scale 1).
const FONT_SCALE: u32 = 3;

/// The colour of `label` (labels past 9 reuse the palette).
pub fn colour(label: u8) -> [u8; 3] {
    PALETTE[usize::from(label) % PALETTE.len()]
}

/// Writes `points` (x, y) coloured by `labels` as a square scatter plot with a frame and a
/// legend naming each label present.
pub fn save_scatter(path: &Path, points: &[(f32, f32)], labels: &[u8]) -> anyhow::Result<()> {
    let width = MARGIN * 3 + AREA + LEGEND;
    let height = MARGIN * 2 + AREA;
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let finite = || points.iter().filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut lo, mut hi) = ((f32::INFINITY, f32::INFINITY), (f32::NEG_INFINITY, f32::NEG_INFINITY));
    for &(x, y) in finite() {
        lo = (lo.0.min(x), lo.1.min(y));
        hi = (hi.0.max(x), hi.1.max(y));
    }
    // A 5% border, and a unit span where all points coincide.
    let span = |a: f32, b: f32| if b > a { (b - a) * 1.1 } else { 1.0 };
    let (sx, sy) = (span(lo.0, hi.0), span(lo.1, hi.1));
    let (cx, cy) = ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0);
    let to_px = |x: f32, y: f32| {
        let u = ((x - cx) / sx + 0.5) * (AREA - 1) as f32;
        let v = (0.5 - (y - cy) / sy) * (AREA - 1) as f32;
        (MARGIN + u.round() as u32, MARGIN + v.round() as u32)
    };
    for (&(x, y), &label) in points.iter().zip(labels) {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let (px, py) = to_px(x, y);
        fill(&mut img, px.saturating_sub(1), py.saturating_sub(1), 3, 3, colour(label));
    }
    frame(&mut img, MARGIN - 1, MARGIN - 1, AREA + 2, AREA + 2, [0, 0, 0]);

    let mut present: Vec<u8> = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    let x0 = MARGIN * 2 + AREA;
    for (row, &label) in present.iter().enumerate() {
        let y0 = MARGIN + row as u32 * (6 * FONT_SCALE + 4);
        fill(&mut img, x0, y0 + FONT_SCALE, 4 * FONT_SCALE, 4 * FONT_SCALE, colour(label));
        text(&mut img, x0 + 6 * FONT_SCALE, y0, &label.to_string(), [0, 0, 0]);
    }
    let tmp = path.with_extension("png.tmp");
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .with_context(|| format!("{}: cannot write image", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write image", path.display()))?;
    Ok(())
}

fn fill(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
    for y in y0..(y0 + h).min(img.height()) {
        for x in x0..(x0 + w).min(img.width()) {
            img.put_pixel(x, y, Rgb(c));
        }
    }
}

fn frame(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
    fill(img, x0, y0, w, 1, c);
    fill(img, x0, y0 + h - 1, w, 1, c);
    fill(img, x0, y0, 1, h, c);
    fill(img, x0 + w - 1, y0, 1, h, c);
}

/// Draws the digits of `s` (other characters are skipped) at `FONT_SCALE`.
fn text(img: &mut RgbImage, x0: u32, y0: u32, s: &str, c: [u8; 3]) {
    let digits = s.chars().filter_map(|ch| ch.to_digit(10));
    for (i, d) in digits.enumerate() {
        let gx = x0 + i as u32 * 4 * FONT_SCALE;
        for (row, bits) in DIGITS[d as usize].iter().enumerate() {
            for col in 0..3u32 {
                if bits >> (2 - col) & 1 == 1 {
                    fill(img, gx + col * FONT_SCALE, y0 + row as u32 * FONT_SCALE, FONT_SCALE, FONT_SCALE, c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_take_their_label_colour_and_the_legend_names_each_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latent.png");
        let points = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0)];
        save_scatter(&path, &points, &[3, 7, 3]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (MARGIN * 3 + AREA + LEGEND, MARGIN * 2 + AREA));
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count() as u32;
        // Two 3x3 points of label 3 and one of label 7, plus each legend swatch.
        let swatch = 16 * FONT_SCALE * FONT_SCALE;
        assert_eq!(count(colour(3)), 2 * 9 + swatch);
        assert_eq!(count(colour(7)), 9 + swatch);
        assert_eq!(count(colour(0)), 0, "labels not present get no colour and no legend row");
        // The legend's first row draws "3": its top bar is three font pixels wide.
        let x0 = MARGIN * 2 + AREA + 6 * FONT_SCALE;
        for col in 0..3 {
            assert_eq!(img.get_pixel(x0 + col * FONT_SCALE, MARGIN).0, [0, 0, 0]);
        }
        // A corner point sits inside the frame, not on it.
        assert_eq!(img.get_pixel(MARGIN - 1, MARGIN - 1).0, [0, 0, 0]);
    }

    #[test]
    fn non_finite_points_are_skipped_and_coincident_points_still_plot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        save_scatter(&path, &[(f32::NAN, 0.0), (2.0, 2.0), (2.0, 2.0)], &[1, 2, 2]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count() as u32;
        assert_eq!(count(colour(2)), 9 + 16 * FONT_SCALE * FONT_SCALE);
    }
}
