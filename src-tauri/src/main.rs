//! Entry point of the Advicly desktop app; everything happens in `advicly_desktop::run`.

// Without this a release build on Windows would open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    advicly_desktop::run();
}
