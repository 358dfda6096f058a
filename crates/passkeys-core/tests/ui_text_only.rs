//! Issue 12 item 3, the desktop app's side: passkey names, display and login names, rp ids and
//! user names from keys reach the window only as text. The UI (ui/**/*.js, ES modules) builds
//! every element with `document.createElement` (ui/lib/dom.js `el`) and fills it with
//! `textContent` / `append(string)`; this test
//! fails as soon as any script uses an HTML sink, so a name like `<img src=x onerror=…>` can
//! never become markup. (The CSP in tauri.conf.json forbids inline scripts as a second line.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// Ways a string becomes markup or code in a page.
const HTML_SINKS: &[&str] = &[
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "DOMParser",
    "createContextualFragment",
    "srcdoc",
    "eval(",
    "new Function",
    "setTimeout('",
    "setTimeout(\"",
    "javascript:",
];

fn ui_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui")
}

/// Every file under `dir`, subfolders included.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_app_ui_renders_server_text_as_text_not_html() {
    let mut scripts = 0;
    let dom = std::fs::read_to_string(ui_dir().join("lib/dom.js")).unwrap();
    assert!(
        dom.contains("createElement") && dom.contains("node.textContent = "),
        "ui/lib/dom.js el() sets text with textContent"
    );
    for path in files(&ui_dir()) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "js" && ext != "html" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if ext == "js" {
            scripts += 1;
        }
        for sink in HTML_SINKS {
            assert!(
                !text.contains(sink),
                "{} uses {sink}: text from servers and keys must be set with textContent",
                path.display()
            );
        }
        if ext == "js" && text.contains("document.") {
            // Text goes in through textContent, here or through dom.js (`el`, `$`).
            assert!(
                text.contains("textContent") || text.contains("/dom.js'"),
                "{} sets no textContent",
                path.display()
            );
            // Elements get attributes through setAttribute and text through textContent only;
            // no `on…=` attribute is ever set from a string.
            assert!(
                !text.contains("setAttribute('on") && !text.contains("setAttribute(\"on"),
                "{}",
                path.display()
            );
        } else {
            assert!(
                !text.contains("<script>"),
                "{}: no inline scripts",
                path.display()
            );
            let handler = text.split(" on").skip(1).any(|rest| {
                let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
                !name.is_empty() && rest[name.len()..].starts_with('=')
            });
            assert!(!handler, "{}: no inline event handlers", path.display());
        }
    }
    assert!(scripts >= 10, "ui/**/*.js not found");
    let conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tauri.conf.json"),
    )
    .unwrap();
    assert!(
        conf.contains("script-src 'self'"),
        "the CSP must forbid inline scripts"
    );
}
