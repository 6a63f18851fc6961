//! The `onepane` binary.

fn main() -> std::process::ExitCode {
    onepane::cli::main()
}
