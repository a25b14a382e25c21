//! Attachments (scans): encrypted files in the data directory, named by a
//! keyed hash of their content so the same scan is stored once and the name
//! reveals nothing. Each file is a random 24-byte nonce followed by the
//! XChaCha20-Poly1305 ciphertext; a changed byte makes reading fail.
//! Files are written to a temporary name, synced and renamed, so a crash
//! never leaves half a scan under a real name.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::CacheError;
use crate::key::StoreKey;

/// The folder of encrypted attachments.
pub struct AttachmentVault {
    dir: PathBuf,
    cipher: XChaCha20Poly1305,
    naming_key: [u8; 32],
}

impl AttachmentVault {
    /// Uses `dir` with a key derived from the store key.
    pub fn open(dir: &Path, key: &StoreKey) -> Result<Self, CacheError> {
        std::fs::create_dir_all(dir).map_err(|error| CacheError::Io {
            path: dir.to_path_buf(),
            detail: error.to_string(),
        })?;
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut hasher = Sha256::new();
            hasher.update(label);
            hasher.update(key.bytes());
            hasher.finalize().into()
        };
        Ok(AttachmentVault {
            dir: dir.to_path_buf(),
            cipher: XChaCha20Poly1305::new(&derive(b"onewindow attachment encryption").into()),
            naming_key: derive(b"onewindow attachment naming"),
        })
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, CacheError> {
        if id.len() != 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CacheError::BadInput(format!(
                "`{id}` is not an attachment id"
            )));
        }
        Ok(self.dir.join(&id[..2]).join(id))
    }

    /// Stores `content`; returns its id.
    pub fn put(&self, content: &[u8]) -> Result<String, CacheError> {
        let mut hasher = Sha256::new();
        hasher.update(self.naming_key);
        hasher.update(content);
        let id = hex::encode(hasher.finalize());
        let path = self.path_of(&id)?;
        if path.exists() {
            return Ok(id);
        }
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), content)
            .map_err(|_| CacheError::BadInput("the attachment could not be encrypted".into()))?;
        let io = |error: std::io::Error| CacheError::Io {
            path: path.clone(),
            detail: error.to_string(),
        };
        let folder = path.parent().expect("attachments live in a sub-folder");
        std::fs::create_dir_all(folder).map_err(io)?;
        let mut temporary = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
        temporary.write_all(&nonce).map_err(io)?;
        temporary.write_all(&ciphertext).map_err(io)?;
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&path).map_err(|error| io(error.error))?;
        Ok(id)
    }

    /// Reads and decrypts an attachment.
    pub fn get(&self, id: &str) -> Result<Vec<u8>, CacheError> {
        let path = self.path_of(id)?;
        let bytes = std::fs::read(&path).map_err(|error| CacheError::Io {
            path: path.clone(),
            detail: error.to_string(),
        })?;
        if bytes.len() < 24 {
            return Err(CacheError::Corrupt {
                path,
                detail: "too short to be an attachment".into(),
            });
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| CacheError::Corrupt {
                path,
                detail: "the attachment was changed or the key is wrong".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_encrypted_deduplicated_and_tamper_evident() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::random();
        let vault = AttachmentVault::open(dir.path(), &key).unwrap();
        let scan = b"%PDF-1.7 a scanned ID card 420102199003071234".to_vec();
        let id = vault.put(&scan).unwrap();
        assert_eq!(vault.put(&scan).unwrap(), id);
        assert_eq!(vault.get(&id).unwrap(), scan);
        let path = dir.path().join(&id[..2]).join(&id);
        let stored = std::fs::read(&path).unwrap();
        assert!(
            !stored.windows(12).any(|window| window == b"420102199003"),
            "the ID number is visible on disk"
        );
        let mut changed = stored.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        std::fs::write(&path, changed).unwrap();
        assert_eq!(vault.get(&id).unwrap_err().code(), "store_corrupt");
        let other = AttachmentVault::open(dir.path(), &StoreKey::random()).unwrap();
        std::fs::write(&path, stored).unwrap();
        assert!(other.get(&id).is_err());
        assert_eq!(vault.get("../etc/passwd").unwrap_err().code(), "bad_input");
    }
}
