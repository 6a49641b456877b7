fn main() -> std::process::ExitCode {
    ashyq::cli::main()
}
