//! Plots written as PNG: a scatter of 2-D codes coloured by label with a legend, line charts
//! (PSNR against noise level) with ticks and a legend, and histograms (anomaly scores). Drawn by hand on an RGB buffer with a 3x5
//! bitmap font (digits, the capitals the labels use, `.` and `-`), so no font file is needed.

use std::path::Path;

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

/// The capitals, `.`, `-` and space, 3x5 like [`DIGITS`]; other characters draw as blanks.
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        d @ '0'..='9' => DIGITS[d as usize - '0' as usize],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'J' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'Q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'W' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'X' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'Z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        '(' => [0b001, 0b010, 0b010, 0b010, 0b001],
        ')' => [0b100, 0b010, 0b010, 0b010, 0b100],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        '_' => [0b000, 0b000, 0b000, 0b000, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        _ => [0; 5],
    }
}

/// Side of the square plot area, pixels.
const AREA: u32 = 440;
/// Margin around the plot area, pixels.
const MARGIN: u32 = 20;
/// Width of the legend column, pixels.
const LEGEND: u32 = 60;
/// Scale of the legend digits (3x5 pixels each at scale 1).
const FONT_SCALE: u32 = 3;

/// The colour of `label` (labels past the palette's length reuse it).
pub fn colour(label: u32) -> [u8; 3] {
    PALETTE[label as usize % PALETTE.len()]
}

/// Characters of a class name the scatter's legend shows before it is cut.
const LEGEND_NAME: usize = 16;

/// Writes `points` (x, y) coloured by `labels` as a square scatter plot with a frame and a
/// legend naming each label present by its class name in `names` (the label itself where
/// `names` has none; unlabelled points share the first colour, with no legend).
pub fn save_scatter(
    path: &Path,
    points: &[(f32, f32)],
    labels: Option<&[u32]>,
    names: &[String],
) -> Result<(), crate::RunError> {
    let unlabelled = vec![0; points.len()];
    let (labels, legend) = match labels {
        Some(l) => (l, true),
        None => (&unlabelled[..], false),
    };
    let name = |label: u32| -> String {
        names.get(label as usize).map_or_else(|| label.to_string(), |n| n.chars().take(LEGEND_NAME).collect())
    };
    let longest = if legend { labels.iter().map(|&l| name(l).chars().count()).max().unwrap_or(0) } else { 0 };
    let width = MARGIN * 3 + AREA + LEGEND.max(6 * FONT_SCALE + longest as u32 * 4 * FONT_SCALE);
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

    let mut present: Vec<u32> = if legend { labels.to_vec() } else { Vec::new() };
    present.sort_unstable();
    present.dedup();
    let x0 = MARGIN * 2 + AREA;
    for (row, &label) in present.iter().enumerate() {
        let y0 = MARGIN + row as u32 * (6 * FONT_SCALE + 4);
        fill(&mut img, x0, y0 + FONT_SCALE, 4 * FONT_SCALE, 4 * FONT_SCALE, colour(label));
        text(&mut img, x0 + 6 * FONT_SCALE, y0, &name(label), [0, 0, 0]);
    }
    crate::images::write_png(path, img)
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

/// Draws `s` at `scale` (each glyph 3x5 pixels at scale 1, 4 apart).
fn text_scaled(img: &mut RgbImage, x0: u32, y0: u32, s: &str, c: [u8; 3], scale: u32) {
    for (i, ch) in s.chars().enumerate() {
        let gx = x0 + i as u32 * 4 * scale;
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..3u32 {
                if bits >> (2 - col) & 1 == 1 {
                    fill(img, gx + col * scale, y0 + row as u32 * scale, scale, scale, c);
                }
            }
        }
    }
}

/// Draws `s` at the legend scale.
fn text(img: &mut RgbImage, x0: u32, y0: u32, s: &str, c: [u8; 3]) {
    text_scaled(img, x0, y0, s, c, FONT_SCALE);
}

/// A straight line from `a` to `b` (Bresenham), 2 pixels thick.
fn line(img: &mut RgbImage, a: (i64, i64), b: (i64, i64), c: [u8; 3]) {
    let (dx, dy) = ((b.0 - a.0).abs(), -(b.1 - a.1).abs());
    let (sx, sy) = (if a.0 < b.0 { 1 } else { -1 }, if a.1 < b.1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (a.0, a.1, dx + dy);
    loop {
        if x >= 0 && y >= 0 {
            fill(img, x as u32, y as u32, 2, 2, c);
        }
        if (x, y) == b {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// Writes one line per `series` (name, y values at `xs`) as a chart with a frame, the x values
/// as ticks, the lowest, middle and highest y as ticks, axis labels and a legend.
pub fn save_lines(
    path: &Path,
    xs: &[f64],
    series: &[(&str, Vec<f64>)],
    x_label: &str,
    y_label: &str,
) -> Result<(), crate::RunError> {
    const W: u32 = 560;
    const H: u32 = 400;
    const LEFT: u32 = 70;
    const TOP: u32 = 20;
    const PLOT_W: u32 = 460;
    const PLOT_H: u32 = 320;
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let finite = |v: &f64| v.is_finite();
    let ys: Vec<f64> = series.iter().flat_map(|(_, v)| v.iter().copied()).filter(finite).collect();
    let (x_lo, x_hi) =
        xs.iter().copied().filter(finite).fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| (a.0.min(v), a.1.max(v)));
    let (mut y_lo, mut y_hi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| (a.0.min(v), a.1.max(v)));
    if !(y_lo.is_finite() && y_hi.is_finite()) {
        (y_lo, y_hi) = (0.0, 1.0);
    }
    if y_hi - y_lo < 1e-9 {
        (y_lo, y_hi) = (y_lo - 0.5, y_hi + 0.5);
    }
    let x_span = if x_hi > x_lo { x_hi - x_lo } else { 1.0 };
    let px = |x: f64, y: f64| {
        let u = (x - x_lo) / x_span * f64::from(PLOT_W - 1);
        let v = (y_hi - y) / (y_hi - y_lo) * f64::from(PLOT_H - 1);
        ((f64::from(LEFT) + u).round() as i64, (f64::from(TOP) + v).round() as i64)
    };
    for (k, (_, values)) in series.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        let points: Vec<(i64, i64)> =
            xs.iter().zip(values).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(&x, &y)| px(x, y)).collect();
        for pair in points.windows(2) {
            line(&mut img, pair[0], pair[1], c);
        }
        for &(x, y) in &points {
            fill(&mut img, (x - 3).max(0) as u32, (y - 3).max(0) as u32, 7, 7, c);
        }
    }
    frame(&mut img, LEFT - 1, TOP - 1, PLOT_W + 2, PLOT_H + 2, [0, 0, 0]);
    // At most about ten ticks; whole numbers (epochs) without a decimal.
    let ticks: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let every = ticks.len().div_ceil(10).max(1);
    for &x in ticks.iter().step_by(every) {
        let (u, _) = px(x, y_lo);
        let label = if x.fract() == 0.0 && x.abs() < 1e9 { format!("{x:.0}") } else { format!("{x:.1}") };
        fill(&mut img, u as u32, TOP + PLOT_H, 1, 5, [0, 0, 0]);
        text_scaled(
            &mut img,
            (u as u32).saturating_sub(label.len() as u32 * 4),
            TOP + PLOT_H + 8,
            &label,
            [0, 0, 0],
            2,
        );
    }
    for y in [y_lo, (y_lo + y_hi) / 2.0, y_hi] {
        let (_, v) = px(x_lo, y);
        let label = format!("{y:.1}");
        fill(&mut img, LEFT - 6, v as u32, 5, 1, [0, 0, 0]);
        text_scaled(
            &mut img,
            (LEFT - 10).saturating_sub(label.len() as u32 * 8),
            (v as u32).saturating_sub(5),
            &label,
            [0, 0, 0],
            2,
        );
    }
    text_scaled(&mut img, LEFT + PLOT_W / 2 - x_label.len() as u32 * 4, H - 24, x_label, [0, 0, 0], 2);
    text_scaled(&mut img, 4, 4, y_label, [0, 0, 0], 2);
    for (k, (name, _)) in series.iter().enumerate() {
        let y0 = TOP + 10 + k as u32 * 22;
        fill(&mut img, LEFT + PLOT_W - 150, y0 + 2, 14, 14, PALETTE[k % PALETTE.len()]);
        text(&mut img, LEFT + PLOT_W - 130, y0, name, [0, 0, 0]);
    }
    crate::images::write_png(path, img)
}

/// Bins of [`save_histogram`].
const BINS: usize = 40;

/// Writes a histogram of each group of `groups` (name, values) over shared bins: side by side in
/// each bin, each group scaled to its own tallest bin so a small group stays visible, with the
/// lowest and highest value as x ticks and a legend of the names (with their counts). The bins
/// are log-spaced when every value is positive and they span more than two decades.
pub fn save_histogram(path: &Path, groups: &[(&str, &[f64])], xlabel: &str) -> Result<(), crate::RunError> {
    let all = || groups.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let log = lo > 0.0 && hi / lo > 100.0;
    let t = |v: f64| if log { v.log10() } else { v };
    let (tlo, thi) = if lo.is_finite() { (t(lo), t(hi)) } else { (0.0, 1.0) };
    let span = if thi > tlo { thi - tlo } else { 1.0 };
    let bin = |v: f64| (((t(v) - tlo) / span * BINS as f64) as usize).min(BINS - 1);
    let width = MARGIN * 3 + AREA + 4 * LEGEND;
    let height = MARGIN * 3 + AREA;
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let slot = AREA / BINS as u32;
    let bar = (slot / groups.len().max(1) as u32).max(1);
    for (g, (_, values)) in groups.iter().enumerate() {
        let mut counts = [0usize; BINS];
        values.iter().filter(|v| v.is_finite()).for_each(|&v| counts[bin(v)] += 1);
        let top = counts.iter().copied().max().unwrap_or(0).max(1);
        for (b, &c) in counts.iter().enumerate() {
            let h = (c as f64 / top as f64 * (AREA - 2) as f64).round() as u32;
            let x = MARGIN + b as u32 * slot + g as u32 * bar;
            fill(&mut img, x, MARGIN + AREA - h, bar, h, colour(g as u32 * 3));
        }
    }
    frame(&mut img, MARGIN - 1, MARGIN - 1, AREA + 2, AREA + 2, [0, 0, 0]);
    let fmt =
        |v: f64| if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.01) { format!("{v:.1E}") } else { format!("{v:.2}") };
    let y_ticks = MARGIN + AREA + 4;
    text(&mut img, MARGIN, y_ticks, &fmt(lo), [0, 0, 0]);
    let hi_text = fmt(hi);
    text(&mut img, (MARGIN + AREA).saturating_sub(hi_text.len() as u32 * 4 * FONT_SCALE), y_ticks, &hi_text, [0, 0, 0]);
    let label = format!("{}{}", xlabel.to_uppercase(), if log { " LOG" } else { "" });
    text(&mut img, MARGIN + AREA / 2 - (label.len() as u32 * 2 * FONT_SCALE).min(AREA / 2), y_ticks, &label, [0, 0, 0]);
    let x0 = MARGIN * 2 + AREA;
    for (g, (name, values)) in groups.iter().enumerate() {
        let y0 = MARGIN + g as u32 * (6 * FONT_SCALE + 4);
        fill(&mut img, x0, y0 + FONT_SCALE, 4 * FONT_SCALE, 4 * FONT_SCALE, colour(g as u32 * 3));
        text(&mut img, x0 + 6 * FONT_SCALE, y0, &format!("{} {}", name.to_uppercase(), values.len()), [0, 0, 0]);
    }
    crate::images::write_png(path, img)
}

/// Height of one bar of [`save_bars`], pixels.
const BAR_ROW: u32 = 6 * FONT_SCALE + 4;
/// Characters of a bar's name shown before it is cut.
const BAR_NAME: usize = 24;

/// Writes a horizontal bar chart: one bar per (name, value), longest for the largest value, each
/// named on the left (cut to `BAR_NAME`, 24, characters) with its value on the right, under a
/// title. Non-finite or negative values draw no bar.
pub fn save_bars(path: &Path, bars: &[(String, f64)], title: &str) -> Result<(), crate::RunError> {
    let name_w = BAR_NAME as u32 * 4 * FONT_SCALE;
    let width = MARGIN * 3 + name_w + AREA + 10 * 4 * FONT_SCALE;
    let height = MARGIN * 3 + BAR_ROW * (bars.len() as u32 + 1);
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    text(&mut img, MARGIN, MARGIN, &title.to_uppercase(), [0, 0, 0]);
    let top = bars.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    let x0 = MARGIN * 2 + name_w;
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = MARGIN * 2 + BAR_ROW * (i as u32 + 1);
        let short: String = name.chars().take(BAR_NAME).collect();
        text(&mut img, MARGIN, y, &short, [0, 0, 0]);
        let len = if v.is_finite() && *v > 0.0 && top > 0.0 { (v / top * f64::from(AREA)).round() as u32 } else { 0 };
        fill(&mut img, x0, y, len.max(1), 5 * FONT_SCALE, colour(0));
        text(&mut img, x0 + AREA + MARGIN, y, &format!("{v:.4}"), [0, 0, 0]);
    }
    crate::images::write_png(path, img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_take_their_label_colour_and_the_legend_names_each_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latent.png");
        let points = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0)];
        save_scatter(&path, &points, Some(&[3, 7, 3]), &[]).unwrap();
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
    fn the_legend_names_classes_by_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latent.png");
        let names: Vec<String> = ["T-shirt/top", "Trouser"].map(String::from).to_vec();
        save_scatter(&path, &[(0.0, 0.0), (1.0, 1.0)], Some(&[0, 1]), &names).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // Wide enough for the swatch and 11 characters of "T-shirt/top".
        assert_eq!(img.width(), MARGIN * 3 + AREA + 6 * FONT_SCALE + 11 * 4 * FONT_SCALE);
        // "T" opens the first row: its top bar is three font pixels wide.
        let x0 = MARGIN * 2 + AREA + 6 * FONT_SCALE;
        for col in 0..3 {
            assert_eq!(img.get_pixel(x0 + col * FONT_SCALE, MARGIN).0, [0, 0, 0]);
        }
    }

    #[test]
    fn non_finite_points_are_skipped_and_coincident_points_still_plot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        save_scatter(&path, &[(f32::NAN, 0.0), (2.0, 2.0), (2.0, 2.0)], Some(&[1, 2, 2]), &[]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count() as u32;
        assert_eq!(count(colour(2)), 9 + 16 * FONT_SCALE * FONT_SCALE);
    }

    #[test]
    fn bars_are_as_long_as_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.png");
        let bars = [("mean radius".to_string(), 0.5), ("texture".to_string(), 0.25), ("nan".to_string(), f64::NAN)];
        save_bars(&path, &bars, "squared error").unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let x0 = MARGIN * 2 + BAR_NAME as u32 * 4 * FONT_SCALE;
        let length = |i: u32| {
            let y = MARGIN * 2 + BAR_ROW * (i + 1) + 1;
            (x0..img.width()).take_while(|&x| img.get_pixel(x, y).0 == colour(0)).count() as u32
        };
        assert_eq!((length(0), length(1), length(2)), (AREA, AREA / 2, 1), "the largest value spans the area");
    }

    #[test]
    fn a_line_chart_draws_each_series_in_its_colour() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.png");
        let xs = [0.1, 0.5, 1.0];
        save_lines(
            &path,
            &xs,
            &[("noisy", vec![20.0, 8.0, 4.0]), ("denoised", vec![22.0, 16.0, f64::NAN])],
            "sigma",
            "psnr db",
        )
        .unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count();
        assert!(count(PALETTE[0]) > 200 && count(PALETTE[1]) > 100, "{} {}", count(PALETTE[0]), count(PALETTE[1]));
        assert!(count([0, 0, 0]) > 500, "frame, ticks and labels");
        assert_eq!(glyph('#'), [0; 5], "unknown characters are blank");
        assert_eq!(glyph('n'), glyph('N'));
    }
}
