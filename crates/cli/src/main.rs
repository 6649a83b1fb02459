//! The `advicly` command line.

fn main() {}
