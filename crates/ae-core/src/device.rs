//! Device selection from `--device cpu|cuda|cuda:N`.

use candle_core::Device;

use crate::error::{CoreError, Result};

/// Where tensors live, as the user asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// The host CPU.
    #[default]
    Cpu,
    /// CUDA device N.
    Cuda(usize),
}

impl std::str::FromStr for DeviceSpec {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || CoreError::BadDevice { spec: s.to_string() };
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => n.parse().map(DeviceSpec::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceSpec {
    /// Opens the device; CUDA in a build without the `cuda` feature is a clear error, not a
    /// silent fall-back to the CPU.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => {
                if !cfg!(feature = "cuda") {
                    return Err(CoreError::CudaNotBuilt { spec: self.to_string() });
                }
                // candle appends a backtrace where RUST_BACKTRACE is set: the driver's words are
                // the first line.
                Device::new_cuda(n).map_err(|e| CoreError::CudaUnavailable {
                    spec: self.to_string(),
                    reason: e.to_string().lines().next().unwrap_or_default().to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices() {
        assert_eq!("cpu".parse::<DeviceSpec>().ok(), Some(DeviceSpec::Cpu));
        assert_eq!("cuda".parse::<DeviceSpec>().ok(), Some(DeviceSpec::Cuda(0)));
        assert_eq!("cuda:3".parse::<DeviceSpec>().ok(), Some(DeviceSpec::Cuda(3)));
        for bad in ["gpu", "cuda:", "cuda:x", "CPU", ""] {
            let err = bad.parse::<DeviceSpec>().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("--device") && err.contains("cpu, cuda or cuda:N"), "{bad}: {err}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_refused() {
        let err = DeviceSpec::Cuda(0).open().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no CUDA support") && err.contains("--features cuda"), "{err}");
    }

    /// Run by `cargo xtask cuda-build` in the CUDA build: no machine has a GPU with ordinal 9999,
    /// and where there is no driver at all its stubs answer "no device", so either way opening
    /// fails, and the error must name the flag and say what the driver said.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_that_cannot_be_opened_is_a_clear_error() {
        let err = DeviceSpec::Cuda(9999).open().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("--device cuda:9999: cannot open the CUDA device") && err.contains("nvidia-smi"), "{err}");
    }
}
