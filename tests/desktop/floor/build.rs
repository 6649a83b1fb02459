//! Build script: embeds the plain pages of the floor window.

fn main() {
    tauri_build::build()
}
