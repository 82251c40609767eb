//! `cargo xtask cuda-build`: a release `ae` with candle's CUDA backend, built on this CPU-only
//! machine for the device machine (an H200 with the NVIDIA driver and PyTorch's CUDA 13 wheels,
//! but no Rust toolchain). Everything lives under `target/cuda/`, so the ordinary build and CI
//! stay CUDA-free and `cargo clean` removes it:
//! - `venv/`: nvcc 13.0 and the CUDA headers from PyPI's wheels (pinned to 13.0, the device
//!   driver's CUDA version: candle ships PTX that the driver compiles, and newer tools emit PTX it
//!   refuses);
//! - `stubs/`: stub libraries for the link, one function per symbol the CUDA crate imports, each
//!   returning its library's "not available" status. candle links the CUDA libraries dynamically,
//!   so the binary needs only what the device already has at run time;
//! - `build/`: the cargo target directory;
//! - `dist/`: what travels to the device: `ae.xz` (stripped, compressed) and `stubs/`. `xtask/device/ae-cuda`
//!   runs it with the device's libraries, and with the stubs only where there is no driver (where
//!   `--device cuda` then fails with a clear error and the CPU still works).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{root, sh, usage};

/// The CUDA wheels, pinned to the device driver's CUDA version (see the module doc).
const WHEELS: [&str; 5] = [
    "nvidia-cuda-nvcc==13.0.*",
    "nvidia-cuda-crt==13.0.*",
    "nvidia-cuda-runtime==13.0.*",
    "nvidia-cuda-cccl==13.0.*",
    "nvidia-nvvm==13.0.*",
];

/// The H200's compute capability (Hopper, sm_90), for which candle's kernels are compiled.
const COMPUTE_CAP: &str = "90";

/// Runs the task.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        return usage(format!("cuda-build takes no arguments, got {arg:?}"));
    }
    let base = root().join("target").join("cuda");
    let cuda = cuda_toolkit(&base.join("venv"))?;
    let target_dir = base.join("build");
    let stubs = base.join("stubs");
    let no_pkg_config = base.join("no-pkg-config");
    std::fs::create_dir_all(&no_pkg_config).with_context(|| format!("creating {}", no_pkg_config.display()))?;
    let cargo = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(args)
            .arg("--target-dir")
            .arg(&target_dir)
            .env("PATH", prepend_path(&cuda.join("bin")))
            .env("CUDA_ROOT", &cuda)
            .env("CUDA_PATH", &cuda)
            .env("CUDA_COMPUTE_CAP", COMPUTE_CAP)
            // The device has no OpenBLAS: the CPU side uses ae's pure-Rust products.
            .env("AE_MATMUL", "rust")
            .env("PKG_CONFIG_LIBDIR", &no_pkg_config)
            .env("PKG_CONFIG_PATH", "")
            .env("LIBRARY_PATH", &stubs);
        cmd
    };
    // The libraries first (candle-kernels' nvcc step is most of the time), so the CUDA crate's
    // imports can be read before anything links; the root package's library, so the features
    // resolve as for the binary and nothing is built twice.
    sh(&mut cargo(&["build", "--release", "-p", "ae", "--lib", "--features", "cuda"]))?;
    let rlib = newest(&target_dir.join("release").join("deps"), "libcudarc-", ".rlib")?;
    write_stubs(&rlib, &stubs, &cuda)?;
    sh(&mut cargo(&["build", "--release", "--features", "cuda", "--bin", "ae"]))?;
    // The device code's own tests, in the CUDA build, on the stubs (this machine has no driver).
    sh(cargo(&["test", "--release", "-p", "ae-core", "--features", "cuda", "--lib", "device"])
        .env("LD_LIBRARY_PATH", &stubs))?;
    let dist = base.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("removing {}", dist.display()))?;
    }
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    // Stripped and xz-compressed (66 MB to 9 MB: most of it is candle's PTX, which is text), so
    // it travels within the device's 64 MiB; `ae-cuda` unpacks it once.
    let ae = dist.join("ae");
    std::fs::copy(target_dir.join("release").join("ae"), &ae).context("copying the binary")?;
    sh(Command::new("strip").arg(&ae))?;
    sh(Command::new("xz").args(["-T0", "-6", "-f"]).arg(&ae))?;
    copy_sonames(&stubs, &dist.join("stubs"))?;
    smoke_test(&dist.join("ae.xz"))?;
    let bytes = dir_bytes(&dist)?;
    eprintln!(
        "xtask cuda-build: {} ({:.1} MiB): carry target/cuda/dist to the device and run `python3 xtask/device/check.py`",
        dist.display(),
        bytes as f64 / (1 << 20) as f64
    );
    Ok(())
}

/// The CUDA toolkit folder inside the wheels (`.../nvidia/cu13`), installing them first.
fn cuda_toolkit(venv: &Path) -> anyhow::Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let lib = std::fs::read_dir(venv.join("lib")).ok()?;
        lib.flatten()
            .map(|e| e.path().join("site-packages").join("nvidia").join("cu13"))
            .find(|cu| cu.join("bin").join("nvcc").is_file())
    };
    if let Some(cuda) = find() {
        return Ok(cuda);
    }
    sh(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    sh(Command::new(venv.join("bin").join("pip")).args(["install", "-q", "--disable-pip-version-check"]).args(WHEELS))?;
    find().ok_or_else(|| {
        anyhow::anyhow!("{}: pip installed {} but no nvidia/cu13/bin/nvcc", venv.display(), WHEELS.join(" "))
    })
}

/// `dir` in front of `$PATH`.
fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

/// The most recently modified file in `dir` named `prefix...suffix`.
fn newest(dir: &Path, prefix: &str, suffix: &str) -> anyhow::Result<PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix)))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .ok_or_else(|| anyhow::anyhow!("{}: no {prefix}*{suffix}", dir.display()))
}

/// One CUDA library the binary links: its soname, the symbol prefix that routes a symbol to it,
/// and the status its stubs return (a defined "unavailable" value of its status enum, so the
/// caller reads a valid error, never an out-of-range enum). `status: None` is the CUDA runtime,
/// which candle's compiled kernels call through the toolkit's own registration code: the
/// wheel's real library is used (it answers "insufficient driver" where there is none).
struct Library {
    soname: &'static str,
    prefix: &'static str,
    status: Option<i32>,
}

/// Most specific prefix first: a symbol goes to the first library whose prefix it starts with.
const LIBRARIES: [Library; 6] = [
    Library { soname: "libnvrtc.so.13", prefix: "nvrtc", status: Some(1) }, // NVRTC_ERROR_OUT_OF_MEMORY
    Library { soname: "libcublasLt.so.13", prefix: "cublasLt", status: Some(1) }, // CUBLAS_STATUS_NOT_INITIALIZED
    Library { soname: "libcublas.so.13", prefix: "cublas", status: Some(1) }, // CUBLAS_STATUS_NOT_INITIALIZED
    Library { soname: "libcurand.so.10", prefix: "curand", status: Some(203) }, // CURAND_STATUS_INITIALIZATION_FAILED
    Library { soname: "libcudart.so.13", prefix: "cuda", status: None },
    Library { soname: "libcuda.so.1", prefix: "cu", status: Some(100) }, // CUDA_ERROR_NO_DEVICE
];

/// Groups the CUDA symbols among `undefined` (`nm -u` lines, `U name`) by library; other
/// symbols (Rust's, libc's) and nm's member headers (`x.rcgu.o:`) are left out.
fn route(undefined: &str) -> BTreeMap<&'static str, Vec<String>> {
    let mut by_lib: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for line in undefined.lines() {
        let ["U", name] = line.split_whitespace().collect::<Vec<_>>()[..] else { continue };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(lib) = LIBRARIES.iter().find(|l| name.starts_with(l.prefix)) {
            let names = by_lib.entry(lib.soname).or_default();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    by_lib
}

/// The functions that return a message rather than a status (the driver's `cuGetErrorString`
/// returns a status and writes the message through a pointer).
const RETURN_A_MESSAGE: [&str; 7] = [
    "nvrtcGetErrorString",
    "cublasGetStatusString",
    "cublasGetStatusName",
    "cublasLtGetStatusString",
    "cublasLtGetStatusName",
    "cudaGetErrorString",
    "cudaGetErrorName",
];

/// The C source of one stub library: each function returns `status`, except those in
/// [`RETURN_A_MESSAGE`], which return a static string that says it is a stub.
fn stub_source(names: &[String], status: i32) -> String {
    let mut c = String::from("/* Generated by `cargo xtask cuda-build`: link-time stand-ins. */\n");
    for name in names {
        if RETURN_A_MESSAGE.contains(&name.as_str()) {
            c.push_str(&format!("const char *{name}(void) {{ return \"ae stub: CUDA library not present\"; }}\n"));
        } else {
            c.push_str(&format!("int {name}(void) {{ return {status}; }}\n"));
        }
    }
    c
}

/// Reads the CUDA crate's imports and compiles one stub library per CUDA library, each under its
/// soname and its link name (`libcuda.so`); the runtime is copied from the toolkit in `cuda`.
fn write_stubs(rlib: &Path, stubs: &Path, cuda: &Path) -> anyhow::Result<()> {
    let out = Command::new("nm").args(["-u", "--no-sort"]).arg(rlib).output().context("running nm")?;
    if !out.status.success() {
        bail!("nm -u {} failed: {}", rlib.display(), String::from_utf8_lossy(&out.stderr));
    }
    let by_lib = route(&String::from_utf8_lossy(&out.stdout));
    if by_lib.is_empty() {
        bail!("{}: no CUDA symbols among its imports", rlib.display());
    }
    std::fs::create_dir_all(stubs).with_context(|| format!("creating {}", stubs.display()))?;
    for lib in &LIBRARIES {
        let names = by_lib.get(lib.soname).map(Vec::as_slice).unwrap_or(&[]);
        let so = stubs.join(lib.soname);
        match lib.status {
            Some(status) => {
                let source = stubs.join(format!("{}.c", lib.soname));
                std::fs::write(&source, stub_source(names, status))
                    .with_context(|| format!("writing {}", source.display()))?;
                sh(Command::new("gcc")
                    .args(["-shared", "-fPIC", "-O1", "-w", "-o"])
                    .arg(&so)
                    .arg(format!("-Wl,-soname,{}", lib.soname))
                    .arg(&source))?;
                eprintln!("xtask cuda-build: {} stubs {} functions", lib.soname, names.len());
            }
            None => {
                let real = cuda.join("lib").join(lib.soname);
                std::fs::copy(&real, &so).with_context(|| format!("copying {}", real.display()))?;
                eprintln!("xtask cuda-build: {} is the toolkit's own", lib.soname);
            }
        }
        let link_name = stubs.join(link_name(lib.soname));
        let _ = std::fs::remove_file(&link_name);
        std::fs::copy(&so, &link_name).with_context(|| format!("writing {}", link_name.display()))?;
    }
    Ok(())
}

/// `libcuda.so.1` -> `libcuda.so`, the name `-lcuda` looks for.
fn link_name(soname: &str) -> &str {
    soname.find(".so").map_or(soname, |i| &soname[..i + 3])
}

/// The binary runs here on the stubs: it trains on the CPU, and `--device cuda` fails with exit 1
/// and ae's message, as on any machine without a GPU.
fn smoke_test(ae: &Path) -> anyhow::Result<()> {
    let wrapper = root().join("xtask").join("device").join("ae-cuda");
    let run_dir = root().join("target").join("cuda").join("smoke-run");
    let _ = std::fs::remove_dir_all(&run_dir);
    let version = Command::new("bash").arg(&wrapper).arg("--version").env("AE_CUDA_BIN", ae).output()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    if !version.contains("CUDA") {
        bail!("`ae-cuda --version` should name the CUDA backend, but said {version:?}");
    }
    let train = |device: &str| {
        Command::new("bash")
            .arg(&wrapper)
            .args(["train", "--epochs", "1", "--train-limit", "500", "--test-limit", "100", "--device", device])
            .args(["--progress", "lines", "--run-dir"])
            .arg(&run_dir)
            .env("AE_CUDA_BIN", ae)
            .current_dir(root())
            .output()
    };
    let cpu = train("cpu")?;
    if !cpu.status.success() || !run_dir.join("model.safetensors").is_file() {
        bail!("the CUDA build failed to train on the CPU: {}", String::from_utf8_lossy(&cpu.stderr));
    }
    std::fs::remove_dir_all(&run_dir).with_context(|| format!("removing {}", run_dir.display()))?;
    let gpu = train("cuda")?;
    let stderr = String::from_utf8_lossy(&gpu.stderr);
    if gpu.status.code() != Some(1) || !stderr.contains("--device cuda:0") {
        bail!("`--device cuda` without a GPU should fail with exit 1 naming the flag; got {}: {stderr}", gpu.status);
    }
    eprintln!("xtask cuda-build: {version}; on this machine `--device cuda` says: {}", stderr.trim());
    Ok(())
}

/// Copies the libraries of `from` under their sonames (what the loader looks for at run time)
/// into `to`.
fn copy_sonames(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for lib in &LIBRARIES {
        let file = from.join(lib.soname);
        std::fs::copy(&file, to.join(lib.soname)).with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}

/// Total size of the files under `dir`.
fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_routed_to_their_library_and_others_left_out() {
        let nm = "                 U cuInit\n                 U cublasLtMatmul\n                 U cublasCreate_v2\n\
                  U curandCreateGenerator\n                 U nvrtcCompileProgram\n                 U cudaMalloc\n\
                  U memcpy\n                 U _ZN4core9panicking5panic17h\n                 U cuInit\n\
                  cudarc-49.cudarc.97-cgu.8.rcgu.o:\n                 U cuda.weird\n";
        let by_lib = route(nm);
        assert_eq!(by_lib["libcuda.so.1"], ["cuInit"]);
        assert_eq!(by_lib["libcublasLt.so.13"], ["cublasLtMatmul"]);
        assert_eq!(by_lib["libcublas.so.13"], ["cublasCreate_v2"]);
        assert_eq!(by_lib["libcurand.so.10"], ["curandCreateGenerator"]);
        assert_eq!(by_lib["libnvrtc.so.13"], ["nvrtcCompileProgram"]);
        assert_eq!(by_lib["libcudart.so.13"], ["cudaMalloc"]);
        assert_eq!(by_lib.values().map(Vec::len).sum::<usize>(), 6, "{by_lib:?}");
    }

    #[test]
    fn stubs_return_an_error_status_or_a_message() {
        let c = stub_source(&["cuInit".into(), "cuGetErrorString".into(), "nvrtcGetErrorString".into()], 100);
        assert!(c.contains("int cuInit(void) { return 100; }"), "{c}");
        assert!(c.contains("const char *nvrtcGetErrorString(void) { return \"ae stub"), "{c}");
        // cuGetErrorString returns a status and writes the message through a pointer.
        assert!(c.contains("int cuGetErrorString(void) { return 100; }"), "{c}");
    }

    #[test]
    fn link_names_drop_the_version() {
        assert_eq!(link_name("libcuda.so.1"), "libcuda.so");
        assert_eq!(link_name("libcublasLt.so.13"), "libcublasLt.so");
    }
}
