//! The `plaza` command line, exactly as `host/src/main.rs` runs it, built in this package
//! so the end-to-end tests can start it as a process and kill it.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    plaza::cli::main()
}
