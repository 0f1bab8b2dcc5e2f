//! Tor's hashed control password (`tor --hash-password`): what a torrc's
//! `HashedControlPassword` holds, so a generated Tor accepts the generated
//! secret on its control port without the secret itself being in the file.
//!
//! The format is Tor's `16:` followed by upper-case hex of an OpenPGP
//! (RFC 4880 §3.7.1.3, "iterated and salted") S2K key: 8 bytes of salt, the
//! count byte `0x60` (65,536 bytes hashed, Tor's fixed choice) and the SHA-1
//! of `salt || password` repeated until that many bytes were hashed.

use sha1::{Digest, Sha1};

/// The count byte Tor always writes: `(16 + (c & 15)) << ((c >> 4) + 6)` =
/// 65,536 bytes hashed.
const COUNT_BYTE: u8 = 0x60;

/// Bytes hashed for [`COUNT_BYTE`].
fn hashed_bytes(count: u8) -> usize {
    (16 + usize::from(count & 15)) << (usize::from(count >> 4) + 6)
}

/// `16:` + hex(salt, 0x60, SHA-1 of the iterated and salted S2K), upper
/// case, exactly as `tor --hash-password` prints it. The salt should be
/// derived from the secret (the caller's choice) so the output is stable.
pub fn tor_hashed_password(password: &[u8], salt: [u8; 8]) -> String {
    let mut block = Vec::with_capacity(salt.len() + password.len());
    block.extend_from_slice(&salt);
    block.extend_from_slice(password);
    // As Tor does (`secret_to_key_rfc2440`): exactly `count` bytes, so a
    // salt+password longer than that is cut, unlike RFC 4880's rule.
    let mut left = hashed_bytes(COUNT_BYTE);
    let mut sha = Sha1::new();
    while left > 0 {
        let n = left.min(block.len());
        sha.update(&block[..n]);
        left -= n;
    }
    let mut key = Vec::with_capacity(29);
    key.extend_from_slice(&salt);
    key.push(COUNT_BYTE);
    key.extend_from_slice(&sha.finalize());
    let mut out = String::from("16:");
    for b in key {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// A salt that depends only on the password, so the rendered file is the
/// same on every run (the password is random, so the salt still differs
/// between systems).
pub fn salt_for(password: &[u8]) -> [u8; 8] {
    let mut hasher = Sha1::new();
    hasher.update(b"lucid-gen tor control salt\0");
    hasher.update(password);
    let digest = hasher.finalize();
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&digest[..8]);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a `tor --hash-password` line into its salt.
    fn salt_of(tor_output: &str) -> [u8; 8] {
        let hex = tor_output.strip_prefix("16:").unwrap();
        let mut salt = [0u8; 8];
        for (i, b) in salt.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        salt
    }

    /// Vectors printed by Tor 0.4.9.11's `tor --hash-password PASSWORD`
    /// (random salt); ours, given the same salt, must be the same text.
    #[test]
    fn matches_real_tor_output() {
        for (password, tor) in [
            (
                "correct horse battery staple",
                "16:F6AF2C551124D1CD60EDE6371AD65BDDC66650441FDEE2E9934DF2F658",
            ),
            (
                "x",
                "16:1B28BBEFEE5DCFB4600D9D64277E33E8A6838476BE616A4DFCBF975129",
            ),
        ] {
            assert_eq!(
                tor_hashed_password(password.as_bytes(), salt_of(tor)),
                tor,
                "{password:?}"
            );
        }
    }

    #[test]
    fn salt_and_password_both_change_the_hash() {
        let a = tor_hashed_password(b"secret", [1; 8]);
        assert_eq!(a.len(), 3 + 2 * 29);
        assert!(a.starts_with("16:0101010101010101" /* salt */));
        assert_eq!(&a[19..21], "60");
        assert_ne!(a, tor_hashed_password(b"secret", [2; 8]));
        assert_ne!(a, tor_hashed_password(b"secreT", [1; 8]));
        assert_eq!(a, tor_hashed_password(b"secret", [1; 8]));
    }

    #[test]
    fn the_salt_is_stable_per_password() {
        assert_eq!(salt_for(b"a"), salt_for(b"a"));
        assert_ne!(salt_for(b"a"), salt_for(b"b"));
    }

    #[test]
    fn only_the_first_65536_bytes_count_as_in_tor() {
        let long = vec![b'a'; 70_000];
        let other = {
            let mut v = long.clone();
            v[69_999] = b'b';
            v
        };
        assert_eq!(
            tor_hashed_password(&long, [0; 8]),
            tor_hashed_password(&other, [0; 8])
        );
    }
}
