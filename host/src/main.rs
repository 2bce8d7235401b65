//! `plaza`: the host's one binary (see [`plaza::cli`]).

// Every evaluation creates and drops a store and its instance records: a fast allocator
// shows in quote latency (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    plaza::cli::main()
}
