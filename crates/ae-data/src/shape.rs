//! What one example is: an image of `(channels, height, width)` or a row of features. Examples
//! are held flat, one row of `features()` values each, in that order (channel, then row, then
//! column, as PyTorch lays out `(C, H, W)`); the shape says how to read a row back.

use serde::{Deserialize, Serialize};

/// The shape of one example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleShape {
    /// An image, channel-major.
    Image {
        /// 1 for grey, 3 for colour.
        channels: usize,
        /// Rows of pixels.
        height: usize,
        /// Pixels per row.
        width: usize,
    },
    /// A row of features (a table row, an embedding, an activation vector).
    Features(usize),
}

impl SampleShape {
    /// A grey image of `height` x `width`.
    pub fn grey(height: usize, width: usize) -> Self {
        SampleShape::Image { channels: 1, height, width }
    }

    /// Values per example.
    pub fn features(self) -> usize {
        match self {
            SampleShape::Image { channels, height, width } => channels * height * width,
            SampleShape::Features(n) => n,
        }
    }

    /// `(height, width)` of the tile that shows one example in a picture: the image itself, or
    /// for features a square where the count is one (784 gives 28x28), else one row.
    pub fn tile(self) -> (usize, usize) {
        match self {
            SampleShape::Image { height, width, .. } => (height, width),
            SampleShape::Features(n) => {
                let side = (n as f64).sqrt().round() as usize;
                if side * side == n { (side, side) } else { (1, n) }
            }
        }
    }
}

impl std::fmt::Display for SampleShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleShape::Image { channels: 1, height, width } => write!(f, "{height}x{width} grey images"),
            SampleShape::Image { channels, height, width } => {
                write!(f, "{height}x{width} images of {channels} channels")
            }
            SampleShape::Features(n) => write!(f, "rows of {n} features"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_count_their_values_and_tile() {
        assert_eq!(SampleShape::grey(28, 28).features(), 784);
        assert_eq!(SampleShape::Image { channels: 3, height: 64, width: 32 }.features(), 6144);
        assert_eq!(SampleShape::Features(784).tile(), (28, 28));
        assert_eq!(SampleShape::Features(30).tile(), (1, 30));
        assert_eq!(SampleShape::grey(5, 7).to_string(), "5x7 grey images");
    }
}
