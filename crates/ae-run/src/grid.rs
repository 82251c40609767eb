//! Pictures made of images: a title, rows of tiles (grey or colour, values in [0, 1]) on light
//! grey separators, a caption before each row ("original", "reconstruction"), and coloured frames
//! that set some tiles apart (the originals at the ends of an interpolation, dead features).
//! Small images are enlarged by a whole factor so a 28x28 digit is legible at a glance.

use std::path::Path;

use candle_core::Tensor;
use image::{Rgb, RgbImage};

use crate::error::RunError;
use crate::font;
use crate::plot::{fill, frame};

/// Pixels between tiles, and the separators' grey.
const GAP: u32 = 4;
const SEPARATOR: [u8; 3] = [205, 205, 205];
const WHITE: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [0, 0, 0];
/// Margin around everything.
const MARGIN: u32 = 10;
/// Text sizes: the title, the row captions and the note under the grid.
const TITLE: f32 = 17.0;
const CAPTION: f32 = 14.0;
/// Tiles are enlarged until their longer side is at least this many pixels (at most 8 times).
const LEGIBLE: usize = 48;

/// The frame colour of tiles set apart: originals beside decoded points.
pub const MARK_ORIGINAL: [u8; 3] = [255, 127, 14];
/// The frame colour of dead features.
pub const MARK_DEAD: [u8; 3] = [214, 39, 40];

/// One row: its caption and its tiles, each with an optional frame colour.
#[derive(Debug, Clone, Default)]
struct Row {
    caption: String,
    tiles: Vec<(Vec<f32>, Option<[u8; 3]>)>,
}

/// A picture of tiles, built row by row.
#[derive(Debug, Clone)]
pub struct Grid {
    title: String,
    note: String,
    shape: (usize, usize),
    zoom: u32,
    rows: Vec<Row>,
}

impl Grid {
    /// An empty grid of tiles of `shape` (height, width) under `title`.
    pub fn new(title: impl Into<String>, shape: (usize, usize)) -> Self {
        let longest = shape.0.max(shape.1).max(1);
        let zoom = LEGIBLE.div_ceil(longest).clamp(1, 8) as u32;
        Grid { title: title.into(), note: String::new(), shape, zoom, rows: Vec::new() }
    }

    /// Enlarges tiles `zoom` times instead (1 for grids of hundreds of tiles).
    pub fn zoom(mut self, zoom: u32) -> Self {
        self.zoom = zoom.max(1);
        self
    }

    /// A line of text under the grid.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// A row of `tiles` captioned `caption` ("" for none).
    pub fn row(mut self, caption: &str, tiles: Vec<Vec<f32>>) -> Self {
        self.rows.push(Row { caption: caption.into(), tiles: tiles.into_iter().map(|t| (t, None)).collect() });
        self
    }

    /// `tiles` in rows of `cols`, uncaptioned, each with its frame colour.
    pub fn rows_of(mut self, cols: usize, tiles: Vec<(Vec<f32>, Option<[u8; 3]>)>) -> Self {
        let mut it = tiles.into_iter().peekable();
        while it.peek().is_some() {
            let tiles: Vec<_> = it.by_ref().take(cols.max(1)).collect();
            self.rows.push(Row { caption: String::new(), tiles });
        }
        self
    }

    /// `tiles` in a grid as close to square as possible (64 gives 8x8).
    pub fn square(self, tiles: Vec<Vec<f32>>) -> Self {
        let cols = (tiles.len() as f64).sqrt().ceil().max(1.0) as usize;
        self.rows_of(cols, tiles.into_iter().map(|t| (t, None)).collect())
    }

    /// Frames tile `col` of row `row` in `colour`.
    pub fn mark(mut self, row: usize, col: usize, colour: [u8; 3]) -> Self {
        if let Some(t) = self.rows.get_mut(row).and_then(|r| r.tiles.get_mut(col)) {
            t.1 = Some(colour);
        }
        self
    }

    /// The picture, in RGB.
    pub fn image(&self) -> RgbImage {
        let (h, w) = self.shape;
        let (tw, th) = (w as u32 * self.zoom, h as u32 * self.zoom);
        let cols = self.rows.iter().map(|r| r.tiles.len()).max().unwrap_or(0) as u32;
        let captions = self.rows.iter().map(|r| font::width(&r.caption, CAPTION)).max().unwrap_or(0);
        let caption_w = if captions > 0 { captions + 10 } else { 0 };
        let title_h = if self.title.is_empty() { 0 } else { font::height(TITLE) + 8 };
        let note_h = if self.note.is_empty() { 0 } else { font::height(CAPTION) + 6 };
        let grid_w = cols * (tw + GAP) + GAP;
        let grid_h = self.rows.len() as u32 * (th + GAP) + GAP;
        let title_w = font::width(&self.title, TITLE).max(font::width(&self.note, CAPTION));
        let width = (2 * MARGIN + caption_w + grid_w).max(2 * MARGIN + title_w);
        let height = 2 * MARGIN + title_h + grid_h + note_h;
        let mut img = RgbImage::from_pixel(width, height, Rgb(WHITE));
        font::draw(&mut img, i64::from(MARGIN), i64::from(MARGIN), &self.title, TITLE, INK);
        let (gx, gy) = (MARGIN + caption_w, MARGIN + title_h);
        fill(&mut img, gx, gy, grid_w, grid_h, SEPARATOR);
        for (r, row) in self.rows.iter().enumerate() {
            let y0 = gy + GAP + r as u32 * (th + GAP);
            let mid = i64::from(y0 + th / 2) - i64::from(font::height(CAPTION) / 2);
            let cw = i64::from(font::width(&row.caption, CAPTION));
            font::draw(&mut img, i64::from(gx) - 8 - cw, mid, &row.caption, CAPTION, INK);
            for (c, (tile, mark)) in row.tiles.iter().enumerate() {
                let x0 = gx + GAP + c as u32 * (tw + GAP);
                self.tile(&mut img, x0, y0, tile);
                if let Some(colour) = mark {
                    frame(&mut img, x0 - 2, y0 - 2, tw + 4, th + 4, *colour);
                    frame(&mut img, x0 - 1, y0 - 1, tw + 2, th + 2, *colour);
                }
            }
        }
        font::draw(&mut img, i64::from(MARGIN), i64::from(gy + grid_h + 4), &self.note, CAPTION, INK);
        img
    }

    /// Draws one tile, grey or (with three planes of values) colour, enlarged.
    fn tile(&self, img: &mut RgbImage, x0: u32, y0: u32, tile: &[f32]) {
        let (h, w) = self.shape;
        let plane = h * w;
        let colour = tile.len() == 3 * plane && plane > 0;
        let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        for i in 0..plane.min(tile.len()) {
            let rgb = if colour {
                [byte(tile[i]), byte(tile[plane + i]), byte(tile[2 * plane + i])]
            } else {
                [byte(tile[i]); 3]
            };
            let (x, y) = (x0 + (i % w) as u32 * self.zoom, y0 + (i / w) as u32 * self.zoom);
            fill(img, x, y, self.zoom, self.zoom, rgb);
        }
    }

    /// Writes the picture as a PNG, atomically.
    pub fn save(&self, path: &Path) -> Result<(), RunError> {
        crate::images::write_png(path, self.image())
    }
}

/// Originals over their reconstructions: rows of 8 originals, each over its 8 reconstructions,
/// captioned, as `reconstructions.png` and TensorBoard's `reconstructions` show them.
pub fn reconstructions(originals: &Tensor, reconstructions: &Tensor, shape: (usize, usize)) -> Result<Grid, RunError> {
    let a = originals.to_vec2::<f32>()?;
    let b = reconstructions.to_vec2::<f32>()?;
    let mut grid = Grid::new("Test images (original) and their reconstructions", shape);
    for (oa, ob) in a.chunks(8).zip(b.chunks(8)) {
        grid = grid.row("original", oa.to_vec()).row("reconstruction", ob.to_vec());
    }
    Ok(grid)
}

/// [`reconstructions`] as a TensorBoard image summary tagged `reconstructions`.
pub fn reconstructions_picture(
    originals: &Tensor,
    outputs: &Tensor,
    shape: (usize, usize),
) -> Result<ae_train::tensorboard::Picture, RunError> {
    let img = image::DynamicImage::from(reconstructions(originals, outputs, shape)?.image());
    let png = crate::images::png_bytes(&img)
        .map_err(|e| RunError::file("reconstructions", format!("cannot encode the image: {e}")))?;
    Ok(ae_train::tensorboard::Picture {
        tag: "reconstructions".into(),
        png,
        width: img.width(),
        height: img.height(),
        channels: 3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_sit_on_light_separators_beside_their_captions_and_marks_frame_them() {
        let white = vec![1.0f32; 4];
        let black = vec![0.0f32; 4];
        let grid = Grid::new("Title", (2, 2))
            .zoom(3)
            .row("original", vec![white.clone(), black.clone()])
            .row("noisy", vec![black.clone()])
            .mark(0, 1, MARK_DEAD);
        let img = grid.image();
        let caption_w = font::width("original", CAPTION) + 10;
        let (gx, gy) = (MARGIN + caption_w, MARGIN + font::height(TITLE) + 8);
        assert_eq!(img.width(), 2 * MARGIN + caption_w + 2 * (6 + GAP) + GAP);
        // The first tile, 6x6 white pixels, after a separator; the second black, framed in red.
        assert_eq!(img.get_pixel(gx, gy).0, SEPARATOR);
        assert_eq!(img.get_pixel(gx + GAP, gy + GAP).0, WHITE);
        assert_eq!(img.get_pixel(gx + GAP + 5, gy + GAP + 5).0, WHITE);
        let x1 = gx + 2 * GAP + 6;
        assert_eq!(img.get_pixel(x1 + 2, gy + GAP + 2).0, INK);
        assert_eq!(img.get_pixel(x1 - 1, gy + GAP + 2).0, MARK_DEAD);
        // The second row's missing tile shows the separator; captions are written left of the grid.
        assert_eq!(img.get_pixel(x1 + 2, gy + 2 * GAP + 6 + 2).0, SEPARATOR);
        let ink = (MARGIN..gx)
            .flat_map(|x| (gy..gy + 12).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128);
        assert!(ink.count() > 20, "the caption is drawn");
        // Colour tiles keep their channels.
        let red = [vec![1.0f32; 4], vec![0.0; 4], vec![0.0; 4]].concat();
        let img = Grid::new("", (2, 2)).zoom(1).row("", vec![red]).image();
        assert_eq!(img.get_pixel(MARGIN + GAP, MARGIN + GAP).0, [255, 0, 0]);
        assert_eq!(Grid::new("", (28, 28)).zoom, 2, "digits are shown twice their size");
    }
}
