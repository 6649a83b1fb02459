//! Harness for driving the real Advicly desktop app through tauri-driver and WebKitWebDriver.
