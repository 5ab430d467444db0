//! HS256 JSON Web Tokens, minted and checked the way kcidb-restd-rs
//! (jsonwebtoken 9 defaults, kcidb-reference §2.2) and kernelci-storage
//! (§3.3) do.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn sign(secret: &str, input: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token with this header `alg` and these claims, signed with HS256
/// (a wrong `alg` is only declared, which is what a server must reject).
pub fn encode_with_alg(secret: &str, alg: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(secret, &input);
    format!("{input}.{}", b64(&sig))
}

pub fn encode(secret: &str, claims: &Value) -> String {
    encode_with_alg(secret, "HS256", claims)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Check signature and algorithm; the claims, or the jsonwebtoken error
/// name (`InvalidToken`, `InvalidSignature`, `InvalidAlgorithm`).
pub fn decode(secret: &str, token: &str) -> Result<(Value, String), String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err("InvalidToken".into());
    }
    let header: Value = URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("InvalidToken")?;
    let claims_raw = URL_SAFE_NO_PAD
        .decode(parts[1])
        .map_err(|_| "InvalidToken".to_string())?;
    let claims: Value =
        serde_json::from_slice(&claims_raw).map_err(|_| "InvalidToken".to_string())?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err("InvalidAlgorithm".into());
    }
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| "InvalidToken".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&sig)
        .map_err(|_| "InvalidSignature".to_string())?;
    Ok((claims, String::from_utf8_lossy(&claims_raw).into_owned()))
}
