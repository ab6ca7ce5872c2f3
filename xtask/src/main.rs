//! Developer tasks (`cargo xtask …`): repository tidiness checks and benchmarks.

fn main() -> anyhow::Result<()> {
    Ok(())
}
