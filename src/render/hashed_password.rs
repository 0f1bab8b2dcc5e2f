//! Tor's `HashedControlPassword`: what `tor --hash-password` prints, an
//! RFC 2440 iterated and salted S2K of SHA-1 over salt and password.

use sha1::{Digest, Sha1};

/// The S2K count indicator tor uses (96: 65,536 bytes hashed).
const INDICATOR: u8 = 0x60;

/// `16:` + salt + indicator + digest, in uppercase hex, as tor prints it.
pub fn tor_hashed_password(password: &[u8], salt: [u8; 8]) -> String {
    let count = (16usize + usize::from(INDICATOR & 15)) << ((INDICATOR >> 4) + 6);
    let mut block = salt.to_vec();
    block.extend_from_slice(password);
    let mut hasher = Sha1::new();
    let mut left = count.max(block.len());
    while left > 0 {
        let n = left.min(block.len());
        hasher.update(&block[..n]);
        left -= n;
    }
    let digest = hasher.finalize();
    let mut out = String::from("16:");
    for b in salt.iter().chain([INDICATOR].iter()).chain(digest.iter()) {
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

    #[test]
    fn has_tors_shape_and_is_deterministic() {
        let h = tor_hashed_password(b"secret", [1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(h.starts_with("16:010203040506070860"), "{h}");
        assert_eq!(h.len(), 3 + 2 * (8 + 1 + 20));
        assert_eq!(h, tor_hashed_password(b"secret", [1, 2, 3, 4, 5, 6, 7, 8]));
        assert_ne!(h, tor_hashed_password(b"secreT", [1, 2, 3, 4, 5, 6, 7, 8]));
    }
}
