fn main() -> std::process::ExitCode {
    importdesk::cli::main()
}
