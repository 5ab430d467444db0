//! The one sha256 / hex helper of the code base: content hashes (the
//! build log's `LOG_SHA256`, patch digests, `patchset_hash`) and ids are
//! sha256 digests written as lower-case hex.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// sha256 of `bytes`, as lower-case hex (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// sha256 of everything `r` yields, as lower-case hex. A read error is
/// returned as is (e.g. a truncated gzip stream).
pub fn sha256_reader(mut r: impl Read) -> io::Result<String> {
    let mut h = Sha256::new();
    io::copy(&mut r, &mut h)?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2 test vectors.
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(b""), "");
        assert_eq!(hex(&[0xABu8; 3]), "ababab");
    }

    #[test]
    fn sha256_of_bytes_and_of_a_reader_agree() {
        assert_eq!(sha256_hex(b""), EMPTY);
        assert_eq!(sha256_hex(b"abc"), ABC);
        assert_eq!(sha256_reader(&b"abc"[..]).expect("read"), ABC);
        // larger than io::copy's buffer
        let big = vec![7u8; 100_000];
        assert_eq!(sha256_reader(&big[..]).expect("read"), sha256_hex(&big));
    }

    #[test]
    fn a_read_error_is_returned() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        assert!(sha256_reader(Broken).is_err());
    }
}
