//! The sync engine and the Advicly service facade used by the CLI and the desktop shell.
