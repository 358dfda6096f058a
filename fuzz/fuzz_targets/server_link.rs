//! The check of links from the server (issue 12, item 1): whatever it accepts is an http(s) URL
//! on the instance's site whose serialisation starts with `https://` or `http://`, and that the
//! browser guard accepts unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::links::{check_server_link, web_url};

fuzz_target!(|data: &[u8]| {
    let Ok(link) = std::str::from_utf8(data) else {
        return;
    };
    for instance in ["https://acme.example.com", "http://localhost:8080"] {
        let instance = url::Url::parse(instance).unwrap();
        if let Ok(url) = check_server_link(link, &instance) {
            let s = url.as_str();
            assert!(s.starts_with("https://") || s.starts_with("http://"), "{s}");
            assert!(url.username().is_empty() && url.password().is_none());
            assert_eq!(web_url(s).as_deref(), Some(s));
            if url.scheme() == "http" {
                assert_eq!(url.origin(), instance.origin());
            }
        }
    }
    if let Some(s) = web_url(link) {
        assert!(s.starts_with("https://") || s.starts_with("http://"), "{s}");
    }
});
