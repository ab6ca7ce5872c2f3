//! Single sign-on (`[serve.oidc]`) against a local test issuer: a JWKS endpoint serving Ed25519
//! keys made here, and tokens signed with them. A valid token signs its person in with the
//! roles `[roles]` gives their groups; an expired one, one for another audience or issuer, one
//! without MFA, one signed by another key and one signed with a shared secret are refused. A
//! key the issuer adds later is fetched, but not more than once per cool-down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::fake_http::{FakeHttp, Response};
use crate::serve::{Server, client, get};
use crate::support::{Backend, CONFIG, Env};

/// An Ed25519 key: the signing half for jsonwebtoken, the public half as a JWK.
fn key(seed: u8, kid: &str) -> (EncodingKey, Value) {
    let secret = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    // PKCS #8 (RFC 8410) around the 32-byte seed, as jsonwebtoken takes an Ed25519 key.
    let mut der =
        vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(&[seed; 32]);
    let x = URL_SAFE_NO_PAD.encode(secret.verifying_key().to_bytes());
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"});
    (EncodingKey::from_ed_der(&der), jwk)
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let header = Header { kid: Some(kid.to_owned()), ..Header::new(Algorithm::EdDSA) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims(changes: &[(&str, Value)]) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let mut claims = json!({
        "iss": "https://idp.test/realms/acme", "aud": "plumb", "sub": "u-1", "iat": now, "exp": now + 300,
        "email": "ana@example.com", "groups": ["staff", "audit"], "amr": ["pwd", "mfa"],
    });
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

/// The status and problem detail of listing assets with `token`.
fn attempt(server: &Server, token: &str) -> (u16, String) {
    let (status, body, _) = get(server, "/api/v1/assets", Some(token));
    (status, body["detail"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn tokens_of_the_issuer_sign_people_in_under_the_role_table_and_nothing_else_does() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let (first, first_jwk) = key(7, "k1");
    let published = Arc::new(Mutex::new(vec![first_jwk]));
    let served = published.clone();
    let issuer = FakeHttp::start(move |_, _, _| Response::json(json!({"keys": *served.lock().unwrap()})));
    env.write(
        "plumb.toml",
        &format!(
            "{CONFIG}auditors = [\"group:audit\"]\nadmins = [\"root@example.com\"]\n\n[serve.oidc]\n\
             issuer = \"https://idp.test/realms/acme\"\naudience = \"plumb\"\njwks_url = \"{}/jwks\"\n\
             jwks_cooldown_seconds = 1\n",
            issuer.url
        ),
    );
    let server = Server::start(&env);

    // Signed in, and an auditor through the group the token names.
    let valid = sign(&first, "k1", &claims(&[]));
    assert_eq!(attempt(&server, &valid).0, 200);
    let started = client()
        .post(format!("{}/api/v1/runs", server.url))
        .bearer_auth(&valid)
        .json(&json!({"job": "check"}))
        .send()
        .unwrap();
    assert_eq!(started.status().as_u16(), 403, "the audit group holds the auditor role");
    assert!(started.text().unwrap().contains("ana@example.com may not record runs"));

    let now = jiff::Timestamp::now().as_second();
    let refused = [
        ("expired", sign(&first, "k1", &claims(&[("exp", json!(now - 600))])), "expired"),
        ("another audience", sign(&first, "k1", &claims(&[("aud", json!("billing"))])), "not for this API"),
        (
            "another issuer",
            sign(&first, "k1", &claims(&[("iss", json!("https://evil.test"))])),
            "another issuer",
        ),
        ("no MFA", sign(&first, "k1", &claims(&[("amr", json!(["pwd"]))])), "requires MFA"),
        ("no email", sign(&first, "k1", &claims(&[("email", Value::Null)])), "no \"email\" claim"),
        ("another key", sign(&key(8, "k1").0, "k1", &claims(&[])), "signature does not verify"),
        ("a shared secret", hmac_token(), "shared-secret algorithm"),
        ("no JWT at all", "garbage".to_owned(), "not a JWT"),
    ];
    for (case, token, why) in &refused {
        let (status, detail) = attempt(&server, token);
        assert_eq!(status, 401, "{case}: {detail}");
        assert!(detail.contains(why), "{case}: {detail}");
    }

    // The issuer rotates in a new key: fetched when a token names it, once per cool-down.
    let fetches = || issuer.paths().iter().filter(|p| *p == "/jwks").count();
    assert_eq!(fetches(), 1, "one fetch so far: {:?}", issuer.paths());
    let (second, second_jwk) = key(9, "k2");
    published.lock().unwrap().push(second_jwk);
    let rotated = sign(&second, "k2", &claims(&[]));
    let forged = sign(&second, "made-up", &claims(&[]));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(attempt(&server, &rotated).0, 200, "the new key is fetched");
    let (status, detail) = attempt(&server, &forged);
    assert_eq!(status, 401, "{detail}");
    assert!(detail.contains("no key \"made-up\""), "{detail}");
    assert_eq!(fetches(), 2, "a made-up key id within the cool-down fetches nothing");
}

/// A token signed with a shared secret, as an attacker who knows a public key might try.
fn hmac_token() -> String {
    let header = Header { kid: Some("k1".to_owned()), ..Header::new(Algorithm::HS256) };
    jsonwebtoken::encode(&header, &claims(&[]), &EncodingKey::from_secret(b"public").unwrap()).unwrap()
}
