//! Links OpenBLAS when the `openblas` feature is on, with a message that says how to get it when
//! it is missing.

fn main() {
    #[cfg(feature = "openblas")]
    openblas();
}

#[cfg(feature = "openblas")]
fn openblas() {
    if let Err(e) = pkg_config::Config::new().atleast_version("0.3").probe("openblas") {
        eprintln!(
            "error: the `openblas` feature needs OpenBLAS and its pkg-config file ({e}).\n\
             Install it (Debian/Ubuntu: `apt-get install libopenblas-dev`), or build without the \
             feature: `cargo build --no-default-features` for the `ae` binary."
        );
        std::process::exit(1);
    }
}
