//! The fused CPU path: a training step written directly on host memory for models made of dense
//! layers. It computes exactly what candle's autograd computes for the same model (tests compare
//! the two), but allocates nothing per step, folds the bias into the matrix product, fuses the loss
//! with its gradient and skips the gradient of the input batch. Models opt in through
//! [`crate::Autoencoder::fused_step`]; everything else uses autograd.

pub mod dense_avx512;
pub mod gemm;
pub mod host;
pub mod kernels;
pub mod mlp;
pub mod sparse;

/// Buffers the trainer keeps between steps: the fused path's workspaces and the step's
/// gradients, which a fused step writes and autograd's are recorded into.
#[derive(Debug, Default, Clone)]
pub struct FusedScratch {
    /// Activations and gradient buffers.
    pub workspace: mlp::Workspace,
    /// A second stack's buffers, for models made of two (a VAE's encoder and decoder).
    pub second: mlp::Workspace,
    /// The step's gradients, keyed by parameter.
    pub grads: crate::grads::Gradients,
    /// The code's buffers between the two stacks (a batch of 4,096 rows of 8,192 latents is
    /// 128 MiB each, whose pages cost a tenth of a TopK step when allocated afresh).
    pub code: CodeBuffers,
}

/// The buffers a bottleneck's host step fills between the encoder and the decoder.
#[derive(Debug, Default, Clone)]
pub struct CodeBuffers {
    /// The head's output.
    pub head_out: Vec<f32>,
    /// The code.
    pub code: Vec<f32>,
    /// What the bottleneck saved for its backward pass.
    pub saved: Vec<f32>,
    /// The code's gradient.
    pub dz: Vec<f32>,
    /// The sparse step's decoder weight transposed, one row per latent.
    pub table: Vec<f32>,
    /// The sparse step's decoder weight gradient, transposed.
    pub grad_t: Vec<f32>,
}

/// The thread count candle's own CPU kernels use (`RAYON_NUM_THREADS`, else every core).
pub fn threads() -> usize {
    candle_core::utils::get_num_threads()
}
