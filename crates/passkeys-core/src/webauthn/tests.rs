use super::*;
use crate::b64;
use url::Url;

const C01: &str = include_str!("../../tests/fixtures/cases/C01-add-passwordless-response.json");
const C03: &str = include_str!("../../tests/fixtures/cases/C03-rp-id-parent-domain.json");
const C08: &str = include_str!("../../tests/fixtures/cases/C08-verify-request-variants.json");

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn c01_options() -> CreationOptions {
    let body: serde_json::Value = serde_json::from_str(C01).unwrap();
    CreationOptions::from_add_response(body["key"]["publicKey"].as_str().unwrap()).unwrap()
}

#[test]
fn c01_decodes_std_base64_outer_and_lenient_inner_members() {
    let o = c01_options();
    assert_eq!(
        hex::encode(&o.challenge_bytes),
        "178d1ce1776aa0a37e8236db3cefe8921e952c1c998e90301b96025d201c3dea"
    );
    assert_eq!(o.challenge, "F40c4XdqoKN-gjbbPO_okh6VLByZjpAwG5YCXSAcPeo");
    // user.id is base64url *with* padding (older go-webauthn): decoded to the ASCII user id.
    assert_eq!(o.user_id, b"28374659102837465");
    assert_eq!(o.user_name, "qa+passkeys@example.test");
    assert_eq!(o.user_display_name, "Zoë Müller");
    assert_eq!(
        o.algorithms,
        vec![-7, -35, -36, -257, -258, -259, -37, -38, -39, -8]
    );
    assert_eq!(o.exclude_credentials.len(), 2);
    assert_eq!(o.exclude_credentials[0].len(), 64);
    assert_eq!(o.exclude_credentials[1].len(), 16);
    assert_eq!(o.user_verification, UserVerification::Required);
    assert_eq!(o.resident_key, ResidentKey::Discouraged);
    assert_eq!(o.timeout_ms, Some(300_000));
    assert_eq!(o.rp_id, "auth.example.test");
}

#[test]
fn c01_client_data_and_hashes_are_exact() {
    let o = c01_options();
    let instance = url("https://auth.example.test");
    check_rp_id(&o.rp_id, &instance).unwrap();
    let cd = client_data_json(&o.challenge, &origin_of(&instance));
    assert_eq!(
        std::str::from_utf8(&cd).unwrap(),
        r#"{"type":"webauthn.create","challenge":"F40c4XdqoKN-gjbbPO_okh6VLByZjpAwG5YCXSAcPeo","origin":"https://auth.example.test","crossOrigin":false}"#
    );
    assert_eq!(
        hex::encode(sha256(&cd)),
        "0b536d39a40bffe5141491af96fe69b47f75c379650a2366baab56588fe3f508"
    );
    assert_eq!(
        hex::encode(sha256(o.rp_id.as_bytes())),
        "ee2ddd511055b3e81b8da59e9dfc154e21d854953ea661e9c836a28d29a83deb"
    );
}

#[test]
fn unknown_members_are_ignored() {
    let json = br#"{"publicKey":{"rp":{"id":"a.example.com","name":"Z"},"user":{"id":"YQ","name":"a","displayName":"A"},
        "challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-7},{"type":"future","alg":-7}],
        "hints":["security-key"],"extensions":{"credProps":true},"somethingNew":1},"id":"123"}"#;
    let o = CreationOptions::from_json(json).unwrap();
    assert_eq!(o.algorithms, vec![-7]);
    assert!(o.exclude_credentials.is_empty());
    assert_eq!(o.user_verification, UserVerification::Preferred);
}

#[test]
fn the_seed_example_fails_cleanly_and_a_corrected_copy_passes() {
    // The example in ZITADEL's "Add passkey" API page is corrupt base64 (../shared/seeds).
    let seed = "eyJwdWJsaWNLZXkiOnsiY2hhbGxlbmdlIoplfZm4vM21qSzBPdjltN2x6VWhnclYyejFJSlVzZnpLd0Z1TytWTWtzRW1Icz0iLCJycCI6eyJuYW1lIjoiWklUQURFTCIsImlkIjoiYWNtZS1nem9lNHgueml0YWRlbC5jbG91ZCJ9LCJ1c2VyIjp7Im5hbWUiOiJ0ZXN0dXNlcjU1QGFjbWUueml0YWRlbC5jbG91ZCIsImRpc3BsYXlOYW1lIjoiVGVzdCBUZXN0IiwiaWQiOiJNVGd5TVRVMk1qWTBNakk1TXpBMk5qSTEifSwicHViS2V5Q3JlZFBhcmFtcyI6W3sidHlwZSI6InB1YmxpYy1rZXkiLCJhbGciOi03fSx7InR5cGUiOiJwdWJsaWMta2V5IiwiYWxnIjotMzV9LHsidHlwZSI6InB1YmxpYy1rZXkiLCJhbGciOi0zNn0seyJ0eXBlIjoicHVibGljLWtleSIsImFsZyI6LTI1N30seyJ0eXBlIjoicHVibGljLWtleSIsImFsZyI6LTI1OH0seyJ0eXBlIjoicHVibGljLWtleSIsImFsZyI6LTI1OX0seyJ0eXBlIjoicHVibGljLWtleSIsImFsZyI6LTM3fSx7InR5cGUiOiJwdWJsaWMta2V5IiwiYWxnIjotMzh9LHsidHlwZSI6InB1YmxpYy1rZXkiLCJhbGciOi0zOX0seyJ0eXBlIjoicHVibGljLWtleSIsImFsZyI6LTh9XSwiYXV0aGVudGljYXRvclNlbGVjdGlvbiI6eyJ1c2VyVmVyaWZpY2F0aW9uIjoiZGlzY291cmFnZWQifn2ilGltZW91dCI6NjAwMDAsImF0dGVzdGF0aW9uIjoibm9uZSJ9fQ==";
    let err = CreationOptions::from_add_response(seed).unwrap_err();
    let OptionsError::Malformed { member, .. } = &err else {
        panic!("expected Malformed, got {err:?}")
    };
    assert_eq!(member, "key.publicKey");
    assert!(err.to_string().contains("key.publicKey"));

    // The same options, written out correctly (challenge and separators repaired).
    let corrected = br#"{"publicKey":{"challenge":"fm4v3mjK0Ov9m7lzUhgrV2z1IJUsfzKwFuO-VMksEmHs","rp":{"name":"ZITADEL","id":"acme-gzoe4x.zitadel.cloud"},"user":{"name":"testuser55@acme.zitadel.cloud","displayName":"Test Test","id":"MTgyMTU2MjY0MjI5MzA2NjI1"},"pubKeyCredParams":[{"type":"public-key","alg":-7},{"type":"public-key","alg":-35},{"type":"public-key","alg":-36},{"type":"public-key","alg":-257},{"type":"public-key","alg":-258},{"type":"public-key","alg":-259},{"type":"public-key","alg":-37},{"type":"public-key","alg":-38},{"type":"public-key","alg":-39},{"type":"public-key","alg":-8}],"authenticatorSelection":{"userVerification":"discouraged"},"timeout":60000,"attestation":"none"}}"#;
    let o = CreationOptions::from_add_response(&b64::std_padded(corrected)).unwrap();
    assert_eq!(o.rp_id, "acme-gzoe4x.zitadel.cloud");
    assert_eq!(o.user_id, b"182156264229306625");
    assert_eq!(o.user_verification, UserVerification::Discouraged);
    assert_eq!(o.timeout_ms, Some(60_000));
    check_rp_id(&o.rp_id, &url("https://acme-gzoe4x.zitadel.cloud")).unwrap();
}

#[test]
fn malformed_members_are_named() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"publicKey":{"user":{"id":"YQ","name":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}"#,
            "publicKey.rp",
        ),
        (
            r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"YQ","name":"a"},"challenge":"not base64!","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}"#,
            "publicKey.challenge",
        ),
        (
            r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"YQ","name":"a"},"challenge":"AAAA","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}"#,
            "publicKey.challenge",
        ),
        (
            r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"","name":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}"#,
            "publicKey.user.id",
        ),
        (
            r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"YQ","name":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key"}]}}"#,
            "publicKey.pubKeyCredParams[0]",
        ),
        (
            r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"YQ","name":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"public-key","alg":-7}],"excludeCredentials":[{"type":"public-key","id":"+_"}]}}"#,
            "publicKey.excludeCredentials[0].id",
        ),
        (r#"[1,2]"#, "key.publicKey"),
        (r#"{"publicKey":"#, "key.publicKey"),
    ];
    for (json, member) in cases {
        match CreationOptions::from_json(json.as_bytes()) {
            Err(OptionsError::Malformed { member: m, .. }) => assert_eq!(&m, member, "{json}"),
            other => panic!("{json}: expected Malformed({member}), got {other:?}"),
        }
    }
    let none = r#"{"publicKey":{"rp":{"id":"x.example"},"user":{"id":"YQ","name":"a"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"type":"other","alg":-7}]}}"#;
    assert_eq!(
        CreationOptions::from_json(none.as_bytes()),
        Err(OptionsError::NoSupportedAlgorithm)
    );
}

#[test]
fn empty_exclude_list_is_like_an_absent_one() {
    let c03: serde_json::Value = serde_json::from_str(C03).unwrap();
    let json = serde_json::to_vec(&c03["decodedOptions"]).unwrap();
    let o = CreationOptions::from_json(&json).unwrap();
    assert!(o.exclude_credentials.is_empty());
}

#[test]
fn c03_parent_domain_rp_id_keeps_the_port_in_the_origin() {
    let c03: serde_json::Value = serde_json::from_str(C03).unwrap();
    let base = url(c03["apiBaseUrl"].as_str().unwrap());
    let json = serde_json::to_vec(&c03["decodedOptions"]).unwrap();
    let o = CreationOptions::from_json(&json).unwrap();
    check_rp_id(&o.rp_id, &base).unwrap();
    assert_eq!(
        hex::encode(sha256(o.rp_id.as_bytes())),
        "9b263fbcb589853137b33ddcafa5bcc5403464ead4da766d0f819348bf8d472c"
    );
    let cd = client_data_json(&o.challenge, &origin_of(&base));
    assert_eq!(
        std::str::from_utf8(&cd).unwrap(),
        r#"{"type":"webauthn.create","challenge":"jXAZYP8SwLxt--jAJO-vxWMTn3HMYGAejflUqRN_Vi8","origin":"https://auth.example.test:8443","crossOrigin":false}"#
    );
    assert_eq!(
        hex::encode(sha256(&cd)),
        "8b596892a41ef418b18c58de491592b107a9ae9dbbb9dd4c474c8d6318102b7d"
    );
}

#[test]
fn rp_id_rules() {
    let base = url("https://auth.example.test:8443");
    for bad in [
        "other.test",
        "test",
        "192.0.2.1",
        "",
        "example.tes",
        "xauth.example.test",
        "sub.auth.example.test",
    ] {
        assert!(
            matches!(
                check_rp_id(bad, &base),
                Err(OptionsError::RpIdRefused { .. })
            ),
            "{bad:?} must be refused"
        );
    }
    let ok = [
        ("auth.example.test", "https://auth.example.test"),
        ("example.test", "https://auth.example.test"),
        ("example.test", "https://AUTH.example.test"),
        ("example.co.uk", "https://id.example.co.uk"),
        ("localhost", "http://localhost:8080"),
        (
            "xn--bcher-kva.example",
            "https://auth.xn--bcher-kva.example",
        ),
        ("xn--bcher-kva.example", "https://auth.bücher.example"),
    ];
    for (rp, inst) in ok {
        check_rp_id(rp, &url(inst)).unwrap_or_else(|e| panic!("{rp} for {inst}: {e}"));
    }
    // Public suffixes from the PSL, including private-registry ones.
    for (rp, inst) in [
        ("co.uk", "https://id.example.co.uk"),
        ("com", "https://auth.example.com"),
        ("github.io", "https://me.github.io"),
    ] {
        assert!(check_rp_id(rp, &url(inst)).is_err(), "{rp}");
    }
    // An instance addressed by IP cannot use WebAuthn at all.
    assert!(check_rp_id("127.0.0.1", &url("http://127.0.0.1:8080")).is_err());
}

/// Issue 12 item 6: an rpId that only canonicalises to the instance's domain (upper case,
/// fullwidth letters, percent escapes, a soft hyphen or other IDNA-ignored characters, Unicode
/// instead of punycode) is refused: the authenticator hashes the bytes it gets, so only the
/// exact form that was checked may reach it.
#[test]
fn fullwidth_rp_id_is_refused() {
    for (rp, inst) in [
        ("LOCALHOST", "http://localhost:8080"),
        ("ｌｏｃａｌｈｏｓｔ", "http://localhost:8080"),
        ("%6cocalhost", "http://localhost:8080"),
        ("local\u{ad}host", "http://localhost:8080"),
        ("ｅｘａｍｐｌｅ.test", "https://auth.example.test"),
        ("ex%61mple.test", "https://auth.example.test"),
        ("exam\u{ad}ple.test", "https://auth.example.test"),
        ("exam\u{200b}ple.test", "https://auth.example.test"),
        ("Example.Test", "https://AUTH.example.test"),
        ("bücher.example", "https://auth.bücher.example"),
        ("example.test.", "https://auth.example.test"),
    ] {
        // Each one canonicalises to an accepted rpId: only the check for the exact form stops it.
        let canonical = match url::Host::parse(rp) {
            Ok(url::Host::Domain(d)) => d,
            _ => String::new(),
        };
        if !rp.ends_with('.') && !canonical.is_empty() {
            check_rp_id(&canonical, &url(inst)).unwrap();
        }
        match check_rp_id(rp, &url(inst)) {
            Err(OptionsError::RpIdRefused { .. }) => {}
            other => panic!("{rp:?} for {inst} must be refused, got {other:?}"),
        }
    }
}

#[test]
fn origin_has_no_trailing_slash_and_keeps_non_default_ports() {
    assert_eq!(
        origin_of(&url("https://auth.example.com/")),
        "https://auth.example.com"
    );
    assert_eq!(
        origin_of(&url("https://auth.example.com:443/x")),
        "https://auth.example.com"
    );
    assert_eq!(
        origin_of(&url("http://localhost:8080/")),
        "http://localhost:8080"
    );
}

fn c08() -> serde_json::Value {
    serde_json::from_str(C08).unwrap()
}

#[test]
fn c08_canonical_credential_json_is_reproduced() {
    let d = c08();
    let canonical = &d["variants"][0];
    assert_eq!(canonical["name"], "canonical");
    let outer = canonical["body"]["verification"]["publicKeyCredential"]
        .as_str()
        .unwrap();
    let cred_bytes = b64::decode_lenient(outer).unwrap();
    let cred: serde_json::Value = serde_json::from_slice(&cred_bytes).unwrap();
    let cd = b64::decode_lenient(cred["response"]["clientDataJSON"].as_str().unwrap()).unwrap();
    let att = b64::decode_lenient(cred["response"]["attestationObject"].as_str().unwrap()).unwrap();

    // The golden clientDataJSON is exactly what we build for C01's challenge and origin.
    assert_eq!(
        cd,
        client_data_json(
            "F40c4XdqoKN-gjbbPO_okh6VLByZjpAwG5YCXSAcPeo",
            "https://auth.example.test"
        )
    );
    let parsed = parse_attestation_object(&att).unwrap();
    assert_eq!(parsed.fmt, "none");
    assert!(parsed.flags.user_present() && parsed.flags.user_verified());
    assert_eq!(parsed.rp_id_hash, sha256(b"auth.example.test"));
    assert_eq!(parsed.credential_id.len(), 32);
    assert_eq!(parsed.alg, Some(-7));

    let ours = credential_json(
        &parsed.credential_id,
        &cd,
        &att,
        &["usb".to_string(), "nfc".to_string()],
        Some("cross-platform"),
    );
    let ours: serde_json::Value = serde_json::from_slice(&ours).unwrap();
    assert_eq!(ours, cred);
    assert_eq!(ours["id"].as_str().unwrap(), cred["id"].as_str().unwrap());
    assert!(!ours["id"].as_str().unwrap().contains('='));
}

#[test]
fn c08_token_name_rules() {
    let d = c08();
    for v in d["variants"].as_array().unwrap() {
        let name = v["body"]["verification"]["tokenName"]
            .as_str()
            .unwrap_or("");
        let local = validate_token_name(name);
        match v["name"].as_str().unwrap() {
            "tokenName-empty" | "tokenName-whitespace" | "tokenName-201-chars" => {
                assert!(local.is_err(), "{} must be refused locally", v["name"])
            }
            "tokenName-200-emoji" => assert_eq!(local.unwrap().chars().count(), 200),
            _ => assert!(local.is_ok(), "{}", v["name"]),
        }
    }
    assert_eq!(validate_token_name("  YubiKey  ").unwrap(), "YubiKey");
    assert!(validate_token_name("a\nb").is_err());
}

#[test]
fn attestation_parser_refuses_garbage() {
    let d = c08();
    let outer = d["variants"][0]["body"]["verification"]["publicKeyCredential"]
        .as_str()
        .unwrap();
    let cred: serde_json::Value =
        serde_json::from_slice(&b64::decode_lenient(outer).unwrap()).unwrap();
    let att = b64::decode_lenient(cred["response"]["attestationObject"].as_str().unwrap()).unwrap();
    assert!(parse_attestation_object(&[]).is_err());
    assert!(parse_attestation_object(&[0xa0]).is_err()); // empty map
    assert!(parse_attestation_object(&att[..att.len() - 5]).is_err());
    let mut trailing = att.clone();
    trailing.push(0);
    assert!(parse_attestation_object(&trailing).is_err());
    // Every truncation fails cleanly, none panics.
    for n in 0..att.len() {
        let _ = parse_attestation_object(&att[..n]);
    }
}
