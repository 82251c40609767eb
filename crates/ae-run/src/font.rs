//! Text in pictures: DejaVu Sans, bundled (`fonts/DejaVuSans.ttf`, licence in
//! docs/font-licence.md) and rasterised by `ab_glyph`, blended onto RGB images with its coverage
//! (anti-aliased). Deterministic: the same text gives the same pixels on every machine.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

static FONT_FILE: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The parsed font, or `None` if the bundled file would not parse (then text is left out).
fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_FILE).ok()).as_ref()
}

/// Pixels across `s` at `size` (the font's pixel height).
pub fn width(s: &str, size: f32) -> u32 {
    font().map_or(0, |f| layout(f, s, size).last().map_or(0.0, |g| g.1 + g.2).ceil() as u32)
}

/// Each glyph of `s` at `size` with its caret position (kerned) and advance.
fn layout(font: &FontRef<'static>, s: &str, size: f32) -> Vec<(ab_glyph::GlyphId, f32, f32)> {
    let f = font.as_scaled(PxScale::from(size));
    let mut caret = 0.0f32;
    let mut last = None;
    s.chars()
        .map(|c| {
            let id = f.glyph_id(c);
            if let Some(prev) = last {
                caret += f.kern(prev, id);
            }
            last = Some(id);
            let at = caret;
            caret += f.h_advance(id);
            (id, at, f.h_advance(id))
        })
        .collect()
}

/// Pixels from the top of a line of text at `size` to the bottom of its descenders.
pub fn height(size: f32) -> u32 {
    font().map_or(0, |f| {
        let f = f.as_scaled(PxScale::from(size));
        (f.ascent() - f.descent()).ceil() as u32
    })
}

/// Draws `s` with its top-left corner at `(x, y)`, `size` pixels high, in `colour`.
pub fn draw(img: &mut RgbImage, x: i64, y: i64, s: &str, size: f32, colour: [u8; 3]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    rasterise(s, size, |px, py, coverage| {
        let (px, py) = (x + px, y + py);
        if px >= 0 && py >= 0 && px < w && py < h {
            blend(img.get_pixel_mut(px as u32, py as u32), colour, coverage);
        }
    });
}

/// Draws `s` turned a quarter counter-clockwise (reading upwards, as a y axis title), its
/// top-left corner (after turning) at `(x, y)`.
pub fn draw_up(img: &mut RgbImage, x: i64, y: i64, s: &str, size: f32, colour: [u8; 3]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let len = i64::from(width(s, size));
    rasterise(s, size, |px, py, coverage| {
        // (px, py) along the text turns into (py, len - px) on the picture.
        let (qx, qy) = (x + py, y + len - px);
        if qx >= 0 && qy >= 0 && qx < w && qy < h {
            blend(img.get_pixel_mut(qx as u32, qy as u32), colour, coverage);
        }
    });
}

/// Calls `put(x, y, coverage)` for every pixel of `s` at `size`, relative to its top-left.
fn rasterise(s: &str, size: f32, mut put: impl FnMut(i64, i64, f32)) {
    let Some(font) = font() else { return };
    let scale = PxScale::from(size);
    let ascent = font.as_scaled(scale).ascent();
    for (id, caret, _) in layout(font, s, size) {
        let glyph = id.with_scale_and_position(scale, point(caret, ascent));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline
                .draw(|gx, gy, coverage| put(b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy), coverage));
        }
    }
}

fn blend(p: &mut Rgb<u8>, c: [u8; 3], coverage: f32) {
    let a = coverage.clamp(0.0, 1.0);
    for (v, &t) in p.0.iter_mut().zip(&c) {
        *v = (f32::from(*v) * (1.0 - a) + f32::from(t) * a).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_inside_its_measured_box_and_reads_upwards_when_turned() {
        let size = 16.0;
        let (w, h) = (width("Epoch 10", size), height(size));
        assert!(w > 40 && w < 90 && (16..=22).contains(&h), "{w}x{h}");
        let mut img = RgbImage::from_pixel(120, 40, Rgb([255, 255, 255]));
        draw(&mut img, 10, 10, "Epoch 10", size, [0, 0, 0]);
        let ink: Vec<(u32, u32)> =
            img.enumerate_pixels().filter(|(_, _, p)| p.0[0] < 128).map(|(x, y, _)| (x, y)).collect();
        assert!(ink.len() > 60, "{} dark pixels", ink.len());
        assert!(ink.iter().all(|&(x, y)| (10..10 + w).contains(&x) && (10..10 + h).contains(&y)));
        let mut up = RgbImage::from_pixel(40, 120, Rgb([255, 255, 255]));
        draw_up(&mut up, 10, 10, "Epoch 10", size, [0, 0, 0]);
        let ink: Vec<(u32, u32)> =
            up.enumerate_pixels().filter(|(_, _, p)| p.0[0] < 128).map(|(x, y, _)| (x, y)).collect();
        assert!(
            ink.iter().all(|&(x, y)| (10..10 + h).contains(&x) && (10..=10 + w).contains(&y)),
            "turned text stays in its box"
        );
        // The same text twice gives the same pixels.
        let mut again = RgbImage::from_pixel(120, 40, Rgb([255, 255, 255]));
        draw(&mut again, 10, 10, "Epoch 10", size, [0, 0, 0]);
        draw(&mut img, 0, 0, "", size, [0, 0, 0]);
        assert_eq!(img, again);
    }
}
