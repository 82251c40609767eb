//! Products with a sparse code, for TopK sparse autoencoders: with k of n latents active per row,
//! the decoder's forward pass, its weight gradient, the code's gradient and the encoder's weight
//! gradient each need `k x d` work per row instead of `n x d`; only the encoder's forward product
//! stays dense (Gao et al. wrote GPU kernels for the same). The code is held row-major (CSR) as it
//! is produced, and column-major (CSC) for the weight gradients, so each thread owns the latents
//! it accumulates and no two threads write the same row of a gradient.

use rayon::prelude::*;

/// The nonzeros of a `(rows, width)` matrix, row by row.
#[derive(Debug, Clone, Default)]
pub struct SparseRows {
    /// Rows.
    pub rows: usize,
    /// Columns (latents).
    pub width: usize,
    /// Row r's nonzeros are `starts[r]..starts[r + 1]`.
    pub starts: Vec<usize>,
    /// The column of each nonzero.
    pub index: Vec<u32>,
    /// Its value.
    pub value: Vec<f32>,
}

impl SparseRows {
    /// The nonzeros of row-major `dense`, `width` values a row.
    pub fn of(dense: &[f32], width: usize) -> SparseRows {
        let width = width.max(1);
        let rows = dense.len() / width;
        let mut out = SparseRows { rows, width, starts: Vec::with_capacity(rows + 1), ..Default::default() };
        out.starts.push(0);
        for row in dense.chunks_exact(width) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    out.index.push(j as u32);
                    out.value.push(v);
                }
            }
            out.starts.push(out.index.len());
        }
        out
    }

    /// The nonzeros' count.
    pub fn nnz(&self) -> usize {
        self.index.len()
    }

    /// The values of another `(rows, width)` matrix at these positions.
    pub fn gather(&self, dense: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.nnz());
        for r in 0..self.rows {
            for p in self.starts[r]..self.starts[r + 1] {
                out.push(dense[r * self.width + self.index[p] as usize]);
            }
        }
        out
    }

    /// The same positions column by column: for each column, the positions `p` (into `index`
    /// and `value`) of its nonzeros, and their rows.
    pub fn columns(&self) -> Columns {
        let mut starts = vec![0usize; self.width + 1];
        for &j in &self.index {
            starts[j as usize + 1] += 1;
        }
        for j in 0..self.width {
            starts[j + 1] += starts[j];
        }
        let mut fill = starts.clone();
        let (mut pos, mut row) = (vec![0usize; self.nnz()], vec![0u32; self.nnz()]);
        for r in 0..self.rows {
            for p in self.starts[r]..self.starts[r + 1] {
                let j = self.index[p] as usize;
                pos[fill[j]] = p;
                row[fill[j]] = r as u32;
                fill[j] += 1;
            }
        }
        Columns { starts, pos, row }
    }
}

/// A [`SparseRows`]'s nonzeros column by column.
#[derive(Debug, Clone)]
pub struct Columns {
    starts: Vec<usize>,
    pos: Vec<usize>,
    row: Vec<u32>,
}

/// Rows per parallel task.
const ROW_TASK: usize = 64;

/// `out = code · table + bias`, `out` `(rows, d)`, `table` `(width, d)` (the decoder's weight
/// transposed: one row per latent).
pub fn forward(out: &mut [f32], code: &SparseRows, table: &[f32], bias: &[f32]) {
    let d = bias.len();
    out.par_chunks_mut(d * ROW_TASK).enumerate().for_each(|(t, block)| {
        for (i, row) in block.chunks_exact_mut(d).enumerate() {
            let r = t * ROW_TASK + i;
            row.copy_from_slice(bias);
            for p in code.starts[r]..code.starts[r + 1] {
                let v = code.value[p];
                let w = &table[code.index[p] as usize * d..][..d];
                row.iter_mut().zip(w).for_each(|(o, &w)| *o += v * w);
            }
        }
    });
}

/// At each nonzero `(r, j)` of `code`, `delta[r] · table[j]`: the code's gradient where it is
/// active, `delta` `(rows, d)`.
pub fn dots(code: &SparseRows, delta: &[f32], table: &[f32]) -> Vec<f32> {
    let d = table.len() / code.width.max(1);
    let mut out = vec![0f32; code.nnz()];
    let tasks: Vec<(usize, &mut [f32])> = {
        let mut rest = out.as_mut_slice();
        let mut tasks = Vec::new();
        for r0 in (0..code.rows).step_by(ROW_TASK) {
            let r1 = (r0 + ROW_TASK).min(code.rows);
            let (head, tail) = rest.split_at_mut(code.starts[r1] - code.starts[r0]);
            tasks.push((r0, head));
            rest = tail;
        }
        tasks
    };
    tasks.into_par_iter().for_each(|(r0, chunk)| {
        let base = code.starts[r0];
        let r1 = (r0 + ROW_TASK).min(code.rows);
        for r in r0..r1 {
            let x = &delta[r * d..][..d];
            for p in code.starts[r]..code.starts[r + 1] {
                let w = &table[code.index[p] as usize * d..][..d];
                chunk[p - base] = x.iter().zip(w).map(|(a, b)| a * b).sum();
            }
        }
    });
    out
}

/// For each column j: `grad[j] = Σ values[p] · data[row(p)]` over its nonzeros and
/// `bias[j] = Σ values[p]`: a weight gradient `(width, d)` whose input side is the sparse code's
/// columns, `values` aligned with the code's nonzeros, `data` `(rows, d)`.
pub fn column_grads(grad: &mut [f32], bias: &mut [f32], cols: &Columns, values: &[f32], data: &[f32]) {
    let d = grad.len() / bias.len().max(1);
    grad.par_chunks_mut(d).zip(bias.par_iter_mut()).enumerate().for_each(|(j, (g, b))| {
        g.fill(0.0);
        let mut sum = 0f32;
        for q in cols.starts[j]..cols.starts[j + 1] {
            let v = values[cols.pos[q]];
            sum += v;
            let x = &data[cols.row[q] as usize * d..][..d];
            g.iter_mut().zip(x).for_each(|(g, &x)| *g += v * x);
        }
        *b = sum;
    });
}

/// The transpose of a row-major `(rows, cols)` matrix into `out`.
pub fn transpose_into(out: &mut [f32], m: &[f32], rows: usize, cols: usize) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_products_match_dense_ones() {
        // code (3 x 4), table (4 x 2), delta (3 x 2).
        let code = [0.0, 2.0, 0.0, 1.0, /**/ 0.0, 0.0, 0.0, 0.0, /**/ 3.0, 0.0, 0.0, -1.0];
        let table = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let s = SparseRows::of(&code, 4);
        assert_eq!((s.nnz(), s.starts.clone()), (4, vec![0, 2, 2, 4]));
        let mut out = vec![0f32; 6];
        forward(&mut out, &s, &table, &[0.5, -0.5]);
        // Row 0: 2 [3, 4] + [7, 8] + bias; row 1: bias; row 2: 3 [1, 2] - [7, 8] + bias.
        assert_eq!(out, [13.5, 15.5, 0.5, -0.5, -3.5, -2.5]);
        let delta = [1.0, -1.0, 5.0, 5.0, 0.5, 2.0];
        assert_eq!(dots(&s, &delta, &table), [-1.0, -1.0, 4.5, 19.5]);
        let mut g = vec![9f32; 8];
        let mut b = vec![9f32; 4];
        column_grads(&mut g, &mut b, &s.columns(), &s.value, &delta);
        // Column 0: 3 · delta[2]; column 1: 2 · delta[0]; column 2: none; column 3: delta[0] - delta[2].
        assert_eq!(g, [1.5, 6.0, 2.0, -2.0, 0.0, 0.0, 0.5, -3.0]);
        assert_eq!(b, [3.0, 2.0, 0.0, 0.0]);
        assert_eq!(s.gather(&[1.0; 12]), [1.0; 4]);
        let mut t = vec![0f32; 8];
        transpose_into(&mut t, &table, 4, 2);
        assert_eq!(t, [1.0, 3.0, 5.0, 7.0, 2.0, 4.0, 6.0, 8.0]);
    }
}
