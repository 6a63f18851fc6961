//! The `onepane` binary.

fn main() -> std::process::ExitCode {
    onepane_cli::main()
}
