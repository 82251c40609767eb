//! Refusing a model nobody can hold: the memory a training run will take is estimated from the
//! config's layer shapes before anything is allocated, and compared with what the machine (or the
//! container's cgroup) has available, so `--hidden 65536,65536,65536` is a usage error at once
//! instead of an OOM kill a minute later.

use ae_models::ModelConfig;

use crate::exit::usage;

/// Bytes of f32 buffers per parameter while training: the weights, their gradients, Adam's two
/// moments, and the host copy and file image a checkpoint save makes.
const BUFFERS_PER_PARAMETER: u128 = 6;
/// Bytes of f32 buffers per activation while training: the output, the pre-activation and the
/// gradient flowing back.
const BUFFERS_PER_ACTIVATION: u128 = 3;

/// The estimate for training `model` at `batch` examples a step, in bytes, and its parameter count.
pub fn training_bytes(model: &ModelConfig, batch: usize) -> (u128, u128) {
    let layers = model.layer_sizes();
    let parameters: u128 = layers.iter().map(|&(p, _)| p).sum();
    let activations: u128 = layers.iter().map(|&(_, o)| o).sum::<u128>() * batch as u128;
    (4 * (BUFFERS_PER_PARAMETER * parameters + BUFFERS_PER_ACTIVATION * activations), parameters)
}

/// Bytes this process may still allocate: the kernel's `MemAvailable`, lowered to what the
/// cgroup's `memory.max` leaves; `None` where neither can be read (not Linux).
pub fn available_bytes() -> Option<u128> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let available = meminfo.as_deref().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u128>().ok().map(|kib| kib * 1024)
    });
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let cgroup = match (read("memory.max"), read("memory.current")) {
        (Some(max), Some(current)) => max
            .trim()
            .parse::<u128>()
            .ok()
            .and_then(|m| current.trim().parse::<u128>().ok().map(|c| m.saturating_sub(c))),
        _ => None,
    };
    match (available, cgroup) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// Refuses (exit 2) a model whose training would need more memory than is available.
pub fn check_fits(model: &ModelConfig, batch: usize) -> anyhow::Result<()> {
    let (need, parameters) = training_bytes(model, batch);
    let Some(have) = available_bytes() else { return Ok(()) };
    if need > have {
        return Err(usage(format!(
            "model: {parameters} parameters at batch {batch} need about {} to train (weights, gradients, Adam's \
             moments, checkpoint copies, activations) but {} of memory is available; choose smaller --hidden / \
             --code-dim widths or a smaller --batch-size",
            gib(need),
            gib(have)
        )));
    }
    Ok(())
}

fn gib(bytes: u128) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_models::StackedConfig;

    #[test]
    fn the_estimate_counts_parameters_and_activations() {
        let cfg = ModelConfig::from(StackedConfig { input_dim: 10, hidden: vec![], code_dim: 2, ..Default::default() });
        // 10 -> 2 -> 10: 22 + 30 parameters; 12 activations a row.
        assert_eq!(training_bytes(&cfg, 4), (4 * (6 * 52 + 3 * 12 * 4), 52));
        let huge = ModelConfig::from(StackedConfig { hidden: vec![65536; 3], ..Default::default() });
        assert!(training_bytes(&huge, 128).0 > 100 << 30, "{:?}", training_bytes(&huge, 128));
        #[cfg(target_os = "linux")]
        assert!(available_bytes().is_some_and(|b| b > 0), "Linux reports its available memory");
    }
}
