//! HS256 JSON Web Tokens, minted and checked with the crate the servers use:
//! kcidb-restd-rs checks with jsonwebtoken 9's default `Validation`
//! (docs/kcidb.md#jwt), kernelci-storage checks the signature and the
//! `email` claim only (docs/kcidb.md#storage-authentication).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::Value;

/// A token with these claims, signed with `alg` (a server that accepts
/// HS256 only must refuse any other).
pub fn encode_with_alg(secret: &str, alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a JSON object signs")
}

pub fn encode(secret: &str, claims: &Value) -> String {
    encode_with_alg(secret, Algorithm::HS256, claims)
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// The claims kcidb-ng reads (extra claims are ignored).
#[derive(Deserialize)]
struct RestClaims {
    origin: String,
}

/// kcidb-restd-rs's check: HS256 only, `exp` required and enforced with
/// 60 s of leeway, a token carrying `aud` refused, then the `origin` claim.
/// The origin, or the jsonwebtoken error as the server words it
/// (`InvalidSignature`, `ExpiredSignature`, `Missing required claim: exp`,
/// ``JSON error: missing field `origin` at line 1 column N``).
pub fn decode_rest(secret: &str, token: &str) -> Result<String, String> {
    let validation = Validation::new(Algorithm::HS256);
    jsonwebtoken::decode::<RestClaims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map(|t| t.claims.origin)
    .map_err(|e| e.to_string())
}

/// The claim kernelci-storage reads.
#[derive(Deserialize)]
struct StorageClaims {
    email: String,
}

/// kernelci-storage's check: the HS256 signature and an `email` claim;
/// neither `exp` nor `aud` is validated.
pub fn decode_storage(secret: &str, token: &str) -> Result<String, String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<StorageClaims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map(|t| t.claims.email)
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: &str = "secret";

    #[test]
    fn the_receivers_verdicts_are_jsonwebtokens() {
        let t = now();
        let ok = encode(S, &json!({"origin": "o", "gendate": "g", "exp": t + 3600}));
        assert_eq!(decode_rest(S, &ok).as_deref(), Ok("o"));
        assert_eq!(
            decode_rest("other", &ok).unwrap_err(),
            "InvalidSignature",
            "wrong secret"
        );
        let within_leeway = encode(S, &json!({"origin": "o", "exp": t - 30}));
        assert_eq!(decode_rest(S, &within_leeway).as_deref(), Ok("o"));
        let expired = encode(S, &json!({"origin": "o", "exp": t - 3600}));
        assert_eq!(decode_rest(S, &expired).unwrap_err(), "ExpiredSignature");
        let no_exp = encode(S, &json!({"origin": "o"}));
        assert_eq!(
            decode_rest(S, &no_exp).unwrap_err(),
            "Missing required claim: exp"
        );
        let aud = encode(S, &json!({"origin": "o", "exp": t + 60, "aud": "x"}));
        assert_eq!(decode_rest(S, &aud).unwrap_err(), "InvalidAudience");
        let hs384 = encode_with_alg(S, Algorithm::HS384, &json!({"origin": "o", "exp": t + 60}));
        assert_eq!(decode_rest(S, &hs384).unwrap_err(), "InvalidAlgorithm");
        let no_origin = encode(S, &json!({"exp": t + 3600}));
        let e = decode_rest(S, &no_origin).unwrap_err();
        assert!(
            e.starts_with("JSON error: missing field `origin` at line 1 column "),
            "{e}"
        );
        assert_eq!(decode_rest(S, "").unwrap_err(), "InvalidToken");
        assert_eq!(decode_rest(S, "a.b").unwrap_err(), "InvalidToken");
    }

    #[test]
    fn storage_checks_the_signature_and_email_only() {
        let expired = encode(S, &json!({"email": "e@x", "exp": now() - 3600, "aud": "y"}));
        assert_eq!(decode_storage(S, &expired).as_deref(), Ok("e@x"));
        let bare = encode(S, &json!({"email": "e@x"}));
        assert_eq!(decode_storage(S, &bare).as_deref(), Ok("e@x"));
        assert!(decode_storage("other", &bare).is_err());
        assert!(decode_storage(S, &encode(S, &json!({"exp": now() + 60}))).is_err());
    }
}
