//! The bodies of the fuzz targets: every parser of `my` that sees outside input, fed
//! arbitrary bytes, called through the `mycli` library as the CLI calls it.
//!
//! Each body also checks what must hold for any input: no panic, no terminal escape in what
//! would be printed, no secret in `Debug` output, and round trips that stay stable.

use mycli::{api, auth, config, credentials, out, runner};
use std::collections::BTreeMap;

/// Text that reaches the terminal must carry no escape or bell.
fn printable(text: &str) {
    let shown = out::one_line(text);
    assert!(
        !shown.chars().any(|c| c.is_control()),
        "a control character survived: {shown:?}"
    );
}

/// API tokens: format and checksum (`my_api::token`), as `MY_API_TOKEN` or `--token`.
pub fn token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let shown = my_api::token::display_prefix(&text);
    let head = shown
        .strip_suffix("...")
        .expect("display_prefix ends in ...");
    assert!(text.starts_with(head), "{shown:?} is not a prefix");
    if let Ok(kind) = my_api::token::parse(&text) {
        let random = &text[4..4 + my_api::token::RANDOM_LEN];
        assert_eq!(my_api::token::assemble(kind, random), text);
    }
}

/// The claims of an access token the CLI decodes without verifying.
pub fn jwt_claims(data: &[u8]) {
    let _ = auth::jwt::claims(&String::from_utf8_lossy(data));
}

/// `credentials.json`: parsed, and its secrets never in `Debug` output.
pub fn credentials_file(data: &[u8]) {
    let Ok(all) = credentials::file::parse(data) else {
        return;
    };
    for creds in all.values() {
        let shown = format!("{creds:?}");
        for secret in std::iter::once(&creds.access_token).chain(&creds.refresh_token) {
            let raw = secret.expose();
            if raw.len() >= 12 {
                assert!(!shown.contains(raw), "a secret in Debug output");
            }
        }
    }
}

/// `config.json`: parsed, and what parsed writes back and parses the same.
pub fn config_file(data: &[u8]) {
    let Ok(config) = config::Config::parse(data) else {
        return;
    };
    let bytes = serde_json::to_vec(&config).expect("a parsed config encodes");
    let again = config::Config::parse(&bytes).expect("an encoded config parses");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&config).unwrap()
    );
}

/// The first two bytes as an HTTP status (100..=599), the rest as the body.
fn reply(data: &[u8]) -> api::Reply {
    let status = match data {
        [a, b, ..] => 100 + u16::from_be_bytes([*a, *b]) % 500,
        _ => 200,
    };
    api::Reply {
        status,
        body: String::from_utf8_lossy(data.get(2..).unwrap_or_default()).into_owned(),
        etag: None,
        url: "http://127.0.0.1:7780/oauth/token".into(),
    }
}

/// OAuth replies: discovery metadata (checked against the issuer), device authorization,
/// token and error answers, as the sign-in flows read them.
pub fn oauth_replies(data: &[u8]) {
    let r = reply(data);
    if let Ok(meta) = r.json::<auth::discovery::Metadata>() {
        if auth::discovery::verify(&meta, "http://127.0.0.1:7780").is_ok() {
            let m = &meta.oauth;
            for url in std::iter::once(&m.token_endpoint).chain(&m.device_authorization_endpoint) {
                assert!(api::same_origin(url, "http://127.0.0.1:7780"), "{url}");
            }
        }
    }
    if let Ok(device) = r.json::<my_api::DeviceAuthorizationResponse>() {
        printable(&device.user_code);
        printable(&device.verification_uri);
    }
    if let Ok(e) = r.json::<my_api::OAuthError>() {
        printable(&e.error);
        printable(e.error_description.as_deref().unwrap_or(""));
    }
    let _ = r.json::<my_api::TokenResponse>();
    printable(&r.into_error().to_string());
}

/// REST replies: errors and the bodies commands decode.
pub fn rest_replies(data: &[u8]) {
    let r = reply(data);
    if let Ok(me) = r.json::<my_api::Me>() {
        printable(&me.email);
    }
    let _ = r.json::<my_api::TokenList>();
    let _ = r.json::<my_api::CreatedToken>();
    let _ = r.json::<serde_json::Value>();
    printable(&r.into_error().to_string());
}

/// The loopback listener's request target, and the page that may quote it.
pub fn callback_query(data: &[u8]) {
    let target = String::from_utf8_lossy(data);
    let (path, query) = auth::loopback::split(&target);
    assert!(target.starts_with(path));
    let quoted: String = query.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    // Whatever it quotes, the page has exactly the tags of an empty one.
    let page = auth::loopback::html(&quoted, &quoted);
    let empty = auth::loopback::html("", "");
    assert_eq!(
        page.matches('<').count(),
        empty.matches('<').count(),
        "{page}"
    );
    let _: BTreeMap<_, _> = query.into_iter().collect();
}

/// Command specs (`my_api::spec`), YAML or JSON, and their canonical form.
pub fn spec(data: &[u8]) {
    use my_api::spec::{canonical_json, Format, Spec};
    let text = String::from_utf8_lossy(data);
    for format in [Format::Yaml, Format::Json] {
        if let Ok(spec) = Spec::parse(&text, format) {
            let canonical = canonical_json(&spec);
            let again = Spec::from_json(&canonical).expect("a canonical spec parses");
            assert_eq!(
                canonical_json(&again),
                canonical,
                "canonical JSON is not stable"
            );
        }
        let _ = my_api::manifest::Manifest::parse(&text, format);
    }
}

/// Spec templates (`src/runner/template.rs`): the first byte picks the delimiters, the rest
/// is the template, rendered with a few arguments and variables.
pub fn template(data: &[u8]) {
    use runner::template::{render, Data, Value};
    let (open, close) = match data.first().map(|b| b % 3) {
        Some(1) => ("[[", "]]"),
        Some(2) => ("<%", "%>"),
        _ => ("{{", "}}"),
    };
    let src = String::from_utf8_lossy(data.get(1..).unwrap_or_default());
    let args = BTreeMap::from([
        ("name".to_string(), Value::Str("it's \"x\"".into())),
        ("force".to_string(), Value::Bool(true)),
        ("count".to_string(), Value::Int(-3)),
    ]);
    let env = BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]);
    let data = Data {
        args: &args,
        env: &env,
        cwd: "/tmp",
        home: "/home/u",
    };
    let rendered = render(&src, open, close, &data);
    if !src.contains(open) {
        assert_eq!(
            rendered.ok().as_deref(),
            Some(&*src),
            "text without actions changed"
        );
    }
}

#[cfg(test)]
mod tests {
    /// Every target's body on every file of its seed corpus (`corpus/<target>/`), which
    /// also holds the inputs that once crashed: the smoke CI runs without libFuzzer.
    #[test]
    fn seed_corpus() {
        let targets: [(&str, fn(&[u8])); 9] = [
            ("token", super::token),
            ("jwt_claims", super::jwt_claims),
            ("credentials_file", super::credentials_file),
            ("config_file", super::config_file),
            ("oauth_replies", super::oauth_replies),
            ("rest_replies", super::rest_replies),
            ("callback_query", super::callback_query),
            ("spec", super::spec),
            ("template", super::template),
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for (name, body) in targets {
            let mut seeds: Vec<_> = std::fs::read_dir(root.join(name))
                .unwrap_or_else(|e| panic!("corpus/{name}: {e}"))
                .map(|e| e.unwrap().path())
                .collect();
            seeds.sort();
            assert!(seeds.len() >= 3, "corpus/{name} has too few seeds");
            for seed in seeds {
                let bytes = std::fs::read(&seed).unwrap();
                let run = std::panic::catch_unwind(|| body(&bytes));
                assert!(run.is_ok(), "{name} panicked on {}", seed.display());
            }
        }
    }
}
