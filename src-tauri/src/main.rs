//! The Advicly desktop shell.

fn main() {}
