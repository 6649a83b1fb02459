//! The floor of the start-up benchmark: the same Tauri 2, the same plugins and the same WebKit
//! settings as the app, a window of the app's size, and a plain page. Nothing else: no engine, no
//! database, no IPC. `ADVICLY_FLOOR_PAGE=list` shows a plain list of as many rows as the app's
//! first screen instead of a heading.

fn main() {
    // The app turns WebKit's compositing off unless asked (src-tauri/src/lib.rs); so does the floor.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
        && std::env::var_os("ADVICLY_WEBKIT_COMPOSITING").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    // The app runs JavaScriptCore without its JITs unless asked (src-tauri/src/lib.rs); so does
    // the floor.
    if std::env::var_os("JSC_useJIT").is_none()
        && std::env::var_os("ADVICLY_WEBKIT_FULL_JIT").is_none()
    {
        std::env::set_var("JSC_useJIT", "0");
    }
    let page = match std::env::var("ADVICLY_FLOOR_PAGE").as_deref() {
        Ok("list") => "list.html",
        _ => "index.html",
    };
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|_, _, _| {}))
        .plugin(tauri_plugin_deep_link::init())
        .setup(move |app| {
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::App(page.into()))
                .title("Advicly floor")
                .inner_size(1100.0, 760.0)
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| {
            eprintln!("the floor window could not start: {error}");
            std::process::exit(1);
        });
    app.run(|_, _| {});
}
