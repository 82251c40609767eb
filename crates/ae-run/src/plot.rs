//! Plots written as PNG: line charts (loss curves, PSNR against noise level), a scatter of 2-D
//! codes coloured by class, histograms (anomaly scores, feature density) and bar charts (error
//! per column). Each has a title, axis titles, ticks at round values with light grid lines, and
//! a legend beside the plot; a y axis whose positive values span decades turns logarithmic.
//! Drawn by hand on an RGB buffer with the bundled font ([`crate::font`]), so the bytes depend
//! only on the data.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::font;

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

/// Text sizes, pixels: titles, axis titles and legends, tick labels.
const TITLE: f32 = 18.0;
const LABEL: f32 = 15.0;
const TICK: f32 = 13.0;
const INK: [u8; 3] = [0, 0, 0];
const SOFT: [u8; 3] = [80, 80, 80];
const GRID: [u8; 3] = [228, 228, 228];
const WHITE: [u8; 3] = [255, 255, 255];

/// Where a plot's area sits in its picture.
const LEFT: u32 = 84;
const TOP: u32 = 44;
const BOTTOM: u32 = 56;
/// Width of the legend column right of the plot.
const LEGEND: u32 = 190;
/// Characters of a legend entry or bar name shown before it is cut.
const NAME_CHARS: usize = 24;

/// The colour of `label` (labels past the palette's length reuse it).
pub fn colour(label: u32) -> [u8; 3] {
    PALETTE[label as usize % PALETTE.len()]
}

/// What a chart says about itself.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Above the plot.
    pub title: &'a str,
    /// Under the x axis.
    pub x: &'a str,
    /// Beside the y axis, reading upwards.
    pub y: &'a str,
}

/// One axis: the span shown, on a linear or a log10 scale.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    /// The span of the finite `values`, padded by 5% (linear) or to whole decades' edges (log);
    /// logarithmic when `allow_log` and every value is positive and they span more than a factor
    /// of 30.
    fn fit(values: impl Iterator<Item = f64> + Clone, allow_log: bool, pad: bool) -> Axis {
        let (lo, hi) =
            values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            return Axis { lo: 0.0, hi: 1.0, log: false };
        }
        if allow_log && lo > 0.0 && hi / lo > 30.0 {
            return Axis { lo: lo.log10() - 0.05, hi: hi.log10() + 0.05, log: true };
        }
        if hi - lo < 1e-12 * hi.abs().max(1.0) {
            let d = (lo.abs() * 0.05).max(0.5);
            return Axis { lo: lo - d, hi: hi + d, log: false };
        }
        let m = if pad { (hi - lo) * 0.05 } else { 0.0 };
        Axis { lo: lo - m, hi: hi + m, log: false }
    }

    /// Where `v` falls, 0 at `lo` and 1 at `hi`.
    fn frac(&self, v: f64) -> f64 {
        let t = if self.log { v.log10() } else { v };
        (t - self.lo) / (self.hi - self.lo)
    }

    /// Round values inside the span with their labels: steps of 1, 2 or 5 times a power of ten
    /// (about `target` of them; whole numbers only where `whole`), or every decade on a log axis.
    fn ticks(&self, target: usize, whole: bool) -> Vec<(f64, String)> {
        if self.log {
            let (a, b) = (self.lo.ceil() as i32, self.hi.floor() as i32);
            let every = ((b - a) as usize / target.max(1) + 1).max(1);
            return (a..=b).step_by(every).map(|k| (10f64.powi(k), decade_label(k))).collect();
        }
        let mut step = nice_step((self.hi - self.lo) / target.max(1) as f64);
        if whole {
            step = step.max(1.0).round();
        }
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).take(50).map(|i| i as f64 * step).map(|v| (v, tick_label(v, step))).collect()
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|&s| s >= raw * 0.999).unwrap_or(10.0 * p)
}

/// `v` to as many decimals as `step` needs; in powers of ten (`1.5e6`) past 100,000 or below
/// 0.001, so no label is dozens of digits long.
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    if v.abs() >= 1e5 || v.abs() < 1e-3 {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// `10^k` as a tick label: `0.01`, `1`, `1000`, or `1e6` beyond.
fn decade_label(k: i32) -> String {
    match k {
        -3..=0 => format!("{}", 10f64.powi(k)),
        1..=4 => format!("{}", 10i64.pow(k as u32)),
        _ => format!("1e{k}"),
    }
}

/// Paints the `w x h` rectangle at `(x0, y0)` (clipped to the picture).
pub(crate) fn fill(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
    for y in y0..(y0.saturating_add(h)).min(img.height()) {
        for x in x0..(x0.saturating_add(w)).min(img.width()) {
            img.put_pixel(x, y, Rgb(c));
        }
    }
}

/// A 1-pixel outline of the `w x h` rectangle at `(x0, y0)`.
pub(crate) fn frame(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
    fill(img, x0, y0, w, 1, c);
    fill(img, x0, y0 + h - 1, w, 1, c);
    fill(img, x0, y0, 1, h, c);
    fill(img, x0 + w - 1, y0, 1, h, c);
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

/// `s` cut to [`NAME_CHARS`] characters (with an ellipsis).
fn short(s: &str) -> String {
    if s.chars().count() <= NAME_CHARS { s.into() } else { s.chars().take(NAME_CHARS - 1).chain(['…']).collect() }
}

/// A plot area and its axes, drawn: light grid lines at the ticks, the frame, tick marks and
/// labels, the axis titles and the title.
struct Plot {
    x0: u32,
    y0: u32,
    w: u32,
    h: u32,
    x: Axis,
    y: Axis,
}

impl Plot {
    fn px(&self, x: f64, y: f64) -> (i64, i64) {
        let u = self.x.frac(x) * f64::from(self.w - 1);
        let v = (1.0 - self.y.frac(y)) * f64::from(self.h - 1);
        ((f64::from(self.x0) + u).round() as i64, (f64::from(self.y0) + v).round() as i64)
    }

    /// Draws the axes with `x_ticks` (or the axis's own) and the labels.
    fn axes(&self, img: &mut RgbImage, labels: &Labels<'_>, x_ticks: Option<Vec<(f64, String)>>, whole_x: bool) {
        let x_ticks = x_ticks.unwrap_or_else(|| self.x.ticks(8, whole_x));
        let y_ticks = self.y.ticks(6, false);
        for (v, _) in &x_ticks {
            let (u, _) = self.px(*v, 1.0);
            fill(img, u as u32, self.y0, 1, self.h, GRID);
        }
        for (v, _) in &y_ticks {
            let (_, t) = self.px(1.0, *v);
            fill(img, self.x0, t as u32, self.w, 1, GRID);
        }
        frame(img, self.x0 - 1, self.y0 - 1, self.w + 2, self.h + 2, INK);
        let below = self.y0 + self.h + 1;
        for (v, label) in &x_ticks {
            let (u, _) = self.px(*v, 1.0);
            fill(img, u as u32, below, 1, 5, INK);
            let half = i64::from(font::width(label, TICK) / 2);
            font::draw(img, u - half, i64::from(below) + 7, label, TICK, INK);
        }
        for (v, label) in &y_ticks {
            let (_, t) = self.px(1.0, *v);
            fill(img, self.x0 - 6, t as u32, 5, 1, INK);
            let w = i64::from(font::width(label, TICK));
            let mid = i64::from(font::height(TICK) / 2);
            font::draw(img, i64::from(self.x0) - 9 - w, t - mid, label, TICK, INK);
        }
        let x_title = format!("{}{}", labels.x, if self.x.log { " (log scale)" } else { "" });
        let half = i64::from(font::width(&x_title, LABEL) / 2);
        font::draw(img, i64::from(self.x0 + self.w / 2) - half, i64::from(below) + 26, &x_title, LABEL, INK);
        let y_title = format!("{}{}", labels.y, if self.y.log { " (log scale)" } else { "" });
        let half = i64::from(font::width(&y_title, LABEL) / 2);
        font::draw_up(img, 6, i64::from(self.y0 + self.h / 2) - half, &y_title, LABEL, INK);
        font::draw(img, i64::from(self.x0), 12, labels.title, TITLE, INK);
    }
}

/// A legend at `(x, y)`: a swatch in each entry's colour and its name, one entry per line.
fn legend(img: &mut RgbImage, x: u32, y: u32, entries: &[(String, [u8; 3])]) {
    let row = font::height(LABEL) + 6;
    for (i, (name, c)) in entries.iter().enumerate() {
        let y0 = y + i as u32 * row;
        fill(img, x, y0 + 4, 12, 12, *c);
        font::draw(img, i64::from(x + 18), i64::from(y0), &short(name), LABEL, INK);
    }
}

/// Writes one line per `series` (name, y values at `xs`) as a chart with `labels`, round ticks
/// (whole numbers on the x axis when every x is one), a legend beside it, and a log y axis where
/// `log_y` allows and the values span decades (a VAE's KL beside its total).
pub fn save_lines(
    path: &Path,
    xs: &[f64],
    series: &[(&str, Vec<f64>)],
    labels: &Labels<'_>,
    log_y: bool,
) -> Result<(), crate::RunError> {
    const PLOT_W: u32 = 480;
    const PLOT_H: u32 = 320;
    let mut img = RgbImage::from_pixel(LEFT + PLOT_W + 24 + LEGEND, TOP + PLOT_H + BOTTOM, Rgb(WHITE));
    let ys = series.iter().flat_map(|(_, v)| v.iter().copied());
    let whole = xs.iter().all(|x| x.fract() == 0.0);
    let plot = Plot {
        x0: LEFT,
        y0: TOP,
        w: PLOT_W,
        h: PLOT_H,
        x: Axis::fit(xs.iter().copied(), false, false),
        y: Axis::fit(ys, log_y, true),
    };
    plot.axes(&mut img, labels, None, whole);
    for (k, (_, values)) in series.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        let visible = |y: f64| y.is_finite() && (!plot.y.log || y > 0.0);
        let points: Vec<(i64, i64)> = xs
            .iter()
            .zip(values)
            .filter(|(x, y)| x.is_finite() && visible(**y))
            .map(|(&x, &y)| plot.px(x, y))
            .collect();
        for pair in points.windows(2) {
            line(&mut img, pair[0], pair[1], c);
        }
        for &(x, y) in &points {
            fill(&mut img, (x - 3).max(0) as u32, (y - 3).max(0) as u32, 7, 7, c);
        }
    }
    let entries: Vec<(String, [u8; 3])> =
        series.iter().enumerate().map(|(k, (n, _))| (n.to_string(), PALETTE[k % PALETTE.len()])).collect();
    legend(&mut img, LEFT + PLOT_W + 24, TOP, &entries);
    crate::images::write_png(path, img)
}

/// Writes `points` (x, y) coloured by `labels` as a square scatter plot with ticks, axis titles
/// `code 1` and `code 2`, and a legend naming each label present by its class name in `names`
/// (the label itself where `names` has none; unlabelled points share the first colour, with no
/// legend).
pub fn save_scatter(
    path: &Path,
    points: &[(f32, f32)],
    labels: Option<&[u32]>,
    names: &[String],
) -> Result<(), crate::RunError> {
    const AREA: u32 = 440;
    let unlabelled = vec![0; points.len()];
    let (labels, with_legend) = match labels {
        Some(l) => (l, true),
        None => (&unlabelled[..], false),
    };
    let mut img = RgbImage::from_pixel(LEFT + AREA + 24 + LEGEND, TOP + AREA + BOTTOM, Rgb(WHITE));
    let finite: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|&(x, y)| (f64::from(x), f64::from(y)))
        .collect();
    let plot = Plot {
        x0: LEFT,
        y0: TOP,
        w: AREA,
        h: AREA,
        x: Axis::fit(finite.iter().map(|p| p.0), false, true),
        y: Axis::fit(finite.iter().map(|p| p.1), false, true),
    };
    let title = format!("Test codes ({} points)", finite.len());
    plot.axes(&mut img, &Labels { title: &title, x: "code 1", y: "code 2" }, None, false);
    for (&(x, y), &label) in points.iter().zip(labels) {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let (px, py) = plot.px(f64::from(x), f64::from(y));
        fill(&mut img, (px - 1).max(0) as u32, (py - 1).max(0) as u32, 3, 3, colour(label));
    }
    if with_legend {
        let mut present: Vec<u32> = labels.to_vec();
        present.sort_unstable();
        present.dedup();
        let name = |label: u32| names.get(label as usize).cloned().unwrap_or_else(|| label.to_string());
        let entries: Vec<(String, [u8; 3])> = present.iter().map(|&l| (name(l), colour(l))).collect();
        legend(&mut img, LEFT + AREA + 24, TOP, &entries);
    }
    crate::images::write_png(path, img)
}

/// Bins of [`save_histogram`].
const BINS: usize = 40;

/// Writes a histogram of each group of `groups` (name, values) over shared bins with `labels`:
/// side by side in each bin, with the count on the y axis (each group scaled to its own tallest
/// bin where several have values, so a small group stays visible), round ticks on the x axis, and a legend of the names with their counts (values that are not finite, such as the
/// log of a frequency of 0, are counted there but not drawn). The bins are log-spaced when every
/// value is positive and they span more than two decades.
pub fn save_histogram(path: &Path, groups: &[(&str, &[f64])], labels: &Labels<'_>) -> Result<(), crate::RunError> {
    const PLOT_W: u32 = 480;
    const PLOT_H: u32 = 320;
    let all = groups.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| v.is_finite());
    let x = Axis::fit(all.clone(), true, false);
    let x = if x.log { x } else { Axis::fit(all, false, false) };
    let bin = |v: f64| ((x.frac(v) * BINS as f64).floor().max(0.0) as usize).min(BINS - 1);
    let counts: Vec<[usize; BINS]> = groups
        .iter()
        .map(|(_, values)| {
            let mut c = [0usize; BINS];
            values.iter().filter(|v| v.is_finite()).for_each(|&v| c[bin(v)] += 1);
            c
        })
        .collect();
    let several = counts.iter().filter(|c| c.iter().any(|&n| n > 0)).count() > 1;
    let tallest = counts.iter().flat_map(|c| c.iter().copied()).max().unwrap_or(0).max(1);
    let y = Axis { lo: 0.0, hi: if several { 1.05 } else { tallest as f64 * 1.05 }, log: false };
    let mut img = RgbImage::from_pixel(LEFT + PLOT_W + 24 + LEGEND, TOP + PLOT_H + BOTTOM, Rgb(WHITE));
    let plot = Plot { x0: LEFT, y0: TOP, w: PLOT_W, h: PLOT_H, x, y };
    let y_label =
        if several { format!("{} (share of each group's tallest bin)", labels.y) } else { labels.y.to_string() };
    plot.axes(&mut img, &Labels { y: &y_label, ..*labels }, None, false);
    let slot = PLOT_W / BINS as u32;
    let bar = (slot / groups.len().max(1) as u32).max(1);
    for (g, c) in counts.iter().enumerate() {
        let top = c.iter().copied().max().unwrap_or(0).max(1);
        for (b, &n) in c.iter().enumerate() {
            let v = if several { n as f64 / top as f64 } else { n as f64 };
            let h = (v / y.hi * f64::from(PLOT_H - 1)).round() as u32;
            let x0 = LEFT + b as u32 * slot + g as u32 * bar;
            fill(&mut img, x0, TOP + PLOT_H - h, bar, h, colour(g as u32 * 3));
        }
    }
    let entries: Vec<(String, [u8; 3])> =
        groups.iter().enumerate().map(|(g, (n, v))| (format!("{n} ({})", v.len()), colour(g as u32 * 3))).collect();
    legend(&mut img, LEFT + PLOT_W + 24, TOP, &entries);
    crate::images::write_png(path, img)
}

/// Height of one bar of [`save_bars`], pixels.
const BAR_ROW: u32 = 22;
/// Width of the names' column of [`save_bars`].
const BAR_NAMES: u32 = 200;
/// Length of the longest bar.
const BAR_AREA: u32 = 420;

/// Writes a horizontal bar chart under `title`: one bar per (name, value), longest for the
/// largest value, each named on the left (cut to 24 characters) with its value on the right.
/// Non-finite or negative values draw no bar.
pub fn save_bars(path: &Path, bars: &[(String, f64)], title: &str) -> Result<(), crate::RunError> {
    let (x0, y0) = (20 + BAR_NAMES, 50);
    let width = x0 + BAR_AREA + 110;
    let height = y0 + BAR_ROW * bars.len() as u32 + 20;
    let mut img = RgbImage::from_pixel(width, height, Rgb(WHITE));
    font::draw(&mut img, 20, 14, title, TITLE, INK);
    let top = bars.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = y0 + BAR_ROW * i as u32;
        let name = short(name);
        let w = i64::from(font::width(&name, TICK));
        font::draw(&mut img, i64::from(x0) - 8 - w, i64::from(y) + 1, &name, TICK, INK);
        let len =
            if v.is_finite() && *v > 0.0 && top > 0.0 { (v / top * f64::from(BAR_AREA)).round() as u32 } else { 0 };
        fill(&mut img, x0, y + 3, len.max(1), BAR_ROW - 6, colour(0));
        let value = tick_label(*v, (v.abs() / 1000.0).max(1e-4));
        font::draw(&mut img, i64::from(x0 + len.max(1) + 6), i64::from(y) + 1, &value, TICK, SOFT);
    }
    crate::images::write_png(path, img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(img: &RgbImage, c: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0 == c).count()
    }

    #[test]
    fn ticks_are_round_and_short_and_a_log_axis_takes_decades() {
        let a = Axis { lo: 0.0, hi: 10.0, log: false };
        let t: Vec<String> = a.ticks(5, false).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0", "2", "4", "6", "8", "10"]);
        let t: Vec<String> = Axis { lo: 0.12, hi: 0.5, log: false }.ticks(4, false).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0.2", "0.3", "0.4", "0.5"]);
        let huge: Vec<String> =
            Axis { lo: 0.0, hi: 3e36, log: false }.ticks(3, false).into_iter().map(|t| t.1).collect();
        assert_eq!(huge, ["0", "1e36", "2e36", "3e36"], "no 36-digit decimals");
        let log = Axis::fit([20.0, 150.0, 600.0, 3.0].into_iter(), true, true);
        assert!(log.log);
        let t: Vec<String> = log.ticks(6, false).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["10", "100"]);
        assert!(!Axis::fit([1.0, 5.0, -2.0].into_iter(), true, true).log, "negative values stay linear");
        let whole: Vec<f64> = Axis { lo: 1.0, hi: 3.0, log: false }.ticks(8, true).into_iter().map(|t| t.0).collect();
        assert_eq!(whole, [1.0, 2.0, 3.0], "epochs tick at whole numbers");
    }

    #[test]
    fn points_take_their_label_colour_and_the_legend_names_each_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latent.png");
        let points = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0)];
        let names: Vec<String> = ["T-shirt/top", "Trouser", "Pullover", "Dress"].map(String::from).to_vec();
        save_scatter(&path, &points, Some(&[3, 1, 3]), &names).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // Two 3x3 points of label 3 and one of label 1, plus each legend swatch (12x12).
        assert_eq!(count(&img, colour(3)), 2 * 9 + 144);
        assert_eq!(count(&img, colour(1)), 9 + 144);
        assert_eq!(count(&img, colour(0)), 0, "labels not present get no colour and no legend row");
        let legend_ink = (LEFT + 440 + 42..img.width())
            .flat_map(|x| (TOP..TOP + 40).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(legend_ink > 100, "class names are written in the legend: {legend_ink}");
    }

    #[test]
    fn non_finite_points_are_skipped_and_coincident_points_still_plot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        save_scatter(&path, &[(f32::NAN, 0.0), (2.0, 2.0), (2.0, 2.0)], Some(&[1, 2, 2]), &[]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(count(&img, colour(2)), 9 + 144);
    }

    #[test]
    fn bars_are_as_long_as_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.png");
        let bars = [("mean radius".to_string(), 0.5), ("texture".to_string(), 0.25), ("nan".to_string(), f64::NAN)];
        save_bars(&path, &bars, "Mean squared error per column").unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let length = |i: u32| {
            let y = 50 + BAR_ROW * i + BAR_ROW / 2;
            (20 + BAR_NAMES..img.width()).take_while(|&x| img.get_pixel(x, y).0 == colour(0)).count() as u32
        };
        assert_eq!((length(0), length(1), length(2)), (BAR_AREA, BAR_AREA / 2, 1), "the largest value spans the area");
    }

    #[test]
    fn a_line_chart_draws_each_series_in_its_colour_and_goes_logarithmic_over_decades() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.png");
        let labels = Labels { title: "PSNR", x: "sigma", y: "PSNR (dB)" };
        let series = [("noisy", vec![20.0, 8.0, 4.0]), ("denoised", vec![22.0, 16.0, f64::NAN])];
        save_lines(&path, &[0.1, 0.5, 1.0], &series, &labels, false).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert!(count(&img, PALETTE[0]) > 200 && count(&img, PALETTE[1]) > 100);
        assert!(count(&img, INK) > 500, "frame, ticks and labels");
        // A VAE's loss: the KL a tenth of the total, drawn on a log axis away from the frame.
        let kl = [("total", vec![540.0, 300.0, 140.0]), ("kl", vec![4.0, 12.0, 20.0])];
        let labels = Labels { title: "Loss", x: "epoch", y: "loss per example" };
        save_lines(&path, &[1.0, 2.0, 3.0], &kl, &labels, true).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let kl_rows: Vec<u32> =
            img.enumerate_pixels().filter(|(_, _, p)| p.0 == PALETTE[1]).map(|(_, y, _)| y).collect();
        let (lo, hi) = (kl_rows.iter().min().unwrap(), kl_rows.iter().max().unwrap());
        assert!(hi - lo > 40, "the KL line rises visibly on the log axis ({lo}..{hi})");
    }
}
