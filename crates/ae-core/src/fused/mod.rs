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

/// Buffers the trainer keeps for a model's fused steps: the model's workspace and its parameter
/// gradients, named as its parameters.
#[derive(Debug, Default, Clone)]
pub struct FusedScratch {
    /// Activations and gradient buffers.
    pub workspace: mlp::Workspace,
    /// A second stack's buffers, for models made of two (a VAE's encoder and decoder).
    pub second: mlp::Workspace,
    /// `(parameter name, gradient)`, in the order the model writes them.
    pub grads: Vec<(String, Vec<f32>)>,
}

impl FusedScratch {
    /// The gradient of the parameter `name`, if the last fused step wrote one.
    pub fn grad(&self, name: &str) -> Option<&[f32]> {
        self.grads.iter().find(|(n, _)| n == name).map(|(_, g)| g.as_slice())
    }

    /// Every gradient, mutably (for clipping).
    pub fn grads_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.grads.iter_mut().map(|(_, g)| g)
    }
}

/// The thread count candle's own CPU kernels use (`RAYON_NUM_THREADS`, else every core).
pub fn threads() -> usize {
    candle_core::utils::get_num_threads()
}
