fn main() {
    // Filled in by the CLI work: parse options, run ringtun::app, map errors to exit codes.
}
