//! The `fake-calendly` binary: runs the fake on fixed addresses for manual testing and the demo.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("the fake-calendly binary is not wired up yet")
}
