//! The `ae` binary: everything happens in `ae-cli`.

fn main() {
    std::process::exit(ae_cli::main());
}
