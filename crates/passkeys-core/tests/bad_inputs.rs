//! Walks tests/fixtures/bad-inputs/: every bad input tried and the behaviour expected, and
//! keeps docs/bad-inputs.md (the table of them) current. `PASSKEYS_BLESS=1 cargo test -p
//! passkeys-core --test bad_inputs` rewrites the table after fixtures change.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::{Path, PathBuf};

use passkeys_core::loopback::{classify_callback, CallbackVerdict};
use passkeys_core::webauthn::{
    check_rp_id, parse_attestation_object, validate_token_name, CreationOptions,
};
use passkeys_core::zitadel::ApiError;
use passkeys_core::{config, Error};
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-inputs");
    let mut list: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (name, v)
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

/// Runs one fixture; returns the outcome as (ok, code, message).
fn run(f: &Value) -> (bool, Option<String>, String) {
    let input = &f["input"];
    let s = input.as_str().unwrap_or_default();
    let res: Result<(), Error> = match f["kind"].as_str().unwrap() {
        "add_response" => CreationOptions::from_add_response(s)
            .map(|_| ())
            .map_err(Error::from),
        "options_json" => CreationOptions::from_json(&serde_json::to_vec(input).unwrap())
            .map(|_| ())
            .map_err(Error::from),
        "rp_id" => {
            let instance = url::Url::parse(f["instance"].as_str().unwrap()).unwrap();
            check_rp_id(s, &instance).map_err(Error::from)
        }
        "error_body" => Err(Error::Api(ApiError::from_response(
            f["status"].as_u64().unwrap() as u16,
            s.as_bytes(),
        ))),
        "issuer" => config::parse_issuer(s).map(|_| ()),
        "token_name" => validate_token_name(s)
            .map(|_| ())
            .map_err(Error::InvalidName),
        "attestation_object_hex" => {
            return match parse_attestation_object(&hex_decode(s)) {
                Ok(_) => (true, None, String::new()),
                Err(e) => (false, None, e.to_string()),
            }
        }
        "callback_query" => {
            return match classify_callback(s, "s") {
                CallbackVerdict::Ignore(why) => (false, Some("ignore".into()), why.to_string()),
                CallbackVerdict::Finish(Ok(_)) => (true, Some("finish".into()), String::new()),
                CallbackVerdict::Finish(Err(e)) => {
                    (false, Some(format!("finish:{}", e.code())), e.to_string())
                }
            }
        }
        other => panic!("unknown fixture kind {other}"),
    };
    match res {
        Ok(()) => (true, None, String::new()),
        Err(e) => (false, Some(e.code().to_string()), e.to_string()),
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_bad_input_behaves_as_documented() {
    let list = fixtures();
    assert!(list.len() >= 40, "fixtures are missing");
    for (name, f) in &list {
        let (ok, code, message) = run(f);
        let expect = &f["expect"];
        if expect["ok"].as_bool() == Some(true) {
            assert!(ok, "{name}: expected success, got {code:?}: {message}");
            continue;
        }
        if let Some(verdict) = expect["verdict"].as_str() {
            let got = code.clone().unwrap_or_default();
            assert!(
                got.starts_with(verdict),
                "{name}: expected verdict {verdict}, got {got}"
            );
            if let Some(c) = expect["code"].as_str() {
                assert_eq!(got, format!("finish:{c}"), "{name}");
            }
            continue;
        }
        assert!(!ok, "{name}: expected a refusal");
        if let Some(c) = expect["code"].as_str() {
            assert_eq!(code.as_deref(), Some(c), "{name}: {message}");
        }
        if let Some(c) = expect["contains"].as_str() {
            assert!(
                message.contains(c),
                "{name}: {message:?} should contain {c:?}"
            );
        }
        // Every refusal says what went wrong in words, without raw i18n keys.
        assert!(
            message.len() > 10 && !message.contains("Errors."),
            "{name}: {message}"
        );
    }
}

fn table(list: &[(String, Value)]) -> String {
    let mut out = String::from(
        "# Bad inputs and what the app does with them\n\n\
         Generated from `crates/passkeys-core/tests/fixtures/bad-inputs/` by\n\
         `PASSKEYS_BLESS=1 cargo test -p passkeys-core --test bad_inputs`; the test fails when this\n\
         table and the fixtures disagree. End-to-end faults (server errors, resets, timeouts,\n\
         rotated refresh tokens) are covered by `crates/passkeys-cli/tests/faults.rs` and `cli.rs`.\n\n\
         | fixture | kind | behaviour | error code |\n|---|---|---|---|\n",
    );
    for (name, f) in list {
        let (_, code, _) = run(f);
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            f["kind"].as_str().unwrap(),
            f["behaviour"].as_str().unwrap().replace('|', "\\|"),
            code.map(|c| format!("`{c}`")).unwrap_or_else(|| "—".into())
        ));
    }
    out
}

#[test]
fn the_bad_input_table_in_docs_is_current() {
    let doc: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bad-inputs.md");
    let expected = table(&fixtures());
    if std::env::var_os("PASSKEYS_BLESS").is_some() {
        std::fs::write(&doc, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&doc).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/bad-inputs.md is out of date: run PASSKEYS_BLESS=1 cargo test -p passkeys-core --test bad_inputs"
    );
}
