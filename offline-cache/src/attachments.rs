//! Attachments (scans, issued documents): encrypted files in the data
//! directory, named by a keyed hash of their content (the attachment id) so
//! the same scan is stored once and the name reveals nothing.
//!
//! A file is the format marker `OWA` + version `2`, a random 24-byte nonce,
//! then the XChaCha20-Poly1305 ciphertext whose associated data is the
//! attachment id: the ciphertext is bound to its name, so a file copied or
//! renamed over another attachment (a scan moved from one case to another)
//! does not open (`attachment_mismatch`), and a changed byte fails too.
//! Files written before the marker (the nonce, then the ciphertext with no
//! associated data) are still read, the old way. Either way the content read
//! is hashed again and must give its id. Files are written to a temporary
//! name, synced and renamed, so a crash never leaves half a scan under a
//! real name.
//!
//! This module must never return content whose hash is not its id.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::CacheError;
use crate::key::StoreKey;

/// The marker of the current file format: `OWA`, version 2.
const MARKER: &[u8; 4] = b"OWA\x02";
const NONCE: usize = 24;

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

    /// The id of `content`: its keyed hash.
    fn id_of(&self, content: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.naming_key);
        hasher.update(content);
        hex::encode(hasher.finalize())
    }

    /// Stores `content`; returns its id.
    pub fn put(&self, content: &[u8]) -> Result<String, CacheError> {
        let id = self.id_of(content);
        let path = self.path_of(&id)?;
        if path.exists() {
            return Ok(id);
        }
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: content,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| CacheError::BadInput("the attachment could not be encrypted".into()))?;
        let io = |error: std::io::Error| CacheError::Io {
            path: path.clone(),
            detail: error.to_string(),
        };
        let folder = path.parent().expect("attachments live in a sub-folder");
        std::fs::create_dir_all(folder).map_err(io)?;
        let mut temporary = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
        temporary.write_all(MARKER).map_err(io)?;
        temporary.write_all(&nonce).map_err(io)?;
        temporary.write_all(&ciphertext).map_err(io)?;
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&path).map_err(|error| io(error.error))?;
        Ok(id)
    }

    /// Reads and decrypts an attachment: the current format with its id as
    /// associated data, an older file the old way; the content must hash to
    /// `id`. A file that does not belong under this id (another
    /// attachment's file renamed, or changed) is `attachment_mismatch`.
    pub fn get(&self, id: &str) -> Result<Vec<u8>, CacheError> {
        let path = self.path_of(id)?;
        let bytes = std::fs::read(&path).map_err(|error| CacheError::Io {
            path: path.clone(),
            detail: error.to_string(),
        })?;
        if bytes.len() < NONCE {
            return Err(CacheError::Corrupt {
                path,
                detail: "too short to be an attachment".into(),
            });
        }
        let current = bytes
            .strip_prefix(MARKER.as_slice())
            .filter(|rest| rest.len() >= NONCE)
            .and_then(|rest| {
                let (nonce, ciphertext) = rest.split_at(NONCE);
                self.cipher
                    .decrypt(
                        XNonce::from_slice(nonce),
                        Payload {
                            msg: ciphertext,
                            aad: id.as_bytes(),
                        },
                    )
                    .ok()
            });
        let content = match current {
            Some(content) => content,
            // Written before the marker (an old file whose random nonce
            // happens to start like the marker is read this way too).
            None => {
                let (nonce, ciphertext) = bytes.split_at(NONCE);
                match self.cipher.decrypt(XNonce::from_slice(nonce), ciphertext) {
                    Ok(content) => content,
                    Err(_) if bytes.starts_with(MARKER) => return Err(mismatch(id)),
                    Err(_) => {
                        return Err(CacheError::Corrupt {
                            path,
                            detail: "the attachment was changed or the key is wrong".into(),
                        })
                    }
                }
            }
        };
        if self.id_of(&content) != id {
            return Err(mismatch(id));
        }
        Ok(content)
    }
}

/// The file under `id` is not that attachment.
fn mismatch(id: &str) -> CacheError {
    let short = &id[..12.min(id.len())];
    tracing::error!(
        attachment = short,
        "an attachment file does not match its id; not opened"
    );
    CacheError::Refused {
        code: "attachment_mismatch",
        message_zh: format!(
            "附件 {short}… 的文件与其记录不符（文件被替换、改动或密钥不对），未打开。请联系系统管理员从备份恢复。"
        ),
        message_en: format!(
            "The file of attachment {short}… does not match its record (it was replaced or changed, or the key is wrong) and was not opened; call your administrator to restore it from backup."
        ),
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
        assert_eq!(vault.get(&id).unwrap_err().code(), "attachment_mismatch");
        let other = AttachmentVault::open(dir.path(), &StoreKey::random()).unwrap();
        std::fs::write(&path, stored).unwrap();
        assert!(other.get(&id).is_err());
        assert_eq!(vault.get("../etc/passwd").unwrap_err().code(), "bad_input");
    }

    /// A file as the vault wrote it before the format marker: nonce, then
    /// the ciphertext with no associated data.
    fn write_old_format(dir: &Path, key: &StoreKey, content: &[u8]) -> String {
        let vault = AttachmentVault::open(dir, key).unwrap();
        let id = vault.id_of(content);
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = vault
            .cipher
            .encrypt(XNonce::from_slice(&nonce), content)
            .unwrap();
        let path = vault.path_of(&id).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, [nonce.as_slice(), &ciphertext].concat()).unwrap();
        id
    }

    #[test]
    fn new_files_carry_the_marker_and_old_files_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::random();
        let old_scan = b"%PDF-1.4 scanned before the marker".to_vec();
        let old_id = write_old_format(dir.path(), &key, &old_scan);
        let vault = AttachmentVault::open(dir.path(), &key).unwrap();
        assert_eq!(vault.get(&old_id).unwrap(), old_scan, "an old file opens");
        let new_id = vault.put(b"%PDF-1.7 a new scan").unwrap();
        let stored = std::fs::read(vault.path_of(&new_id).unwrap()).unwrap();
        assert!(stored.starts_with(b"OWA\x02"));
        assert_eq!(vault.get(&new_id).unwrap(), b"%PDF-1.7 a new scan");
    }

    #[test]
    fn a_scan_renamed_to_another_attachments_name_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::random();
        let vault = AttachmentVault::open(dir.path(), &key).unwrap();
        // Case A's ID card and case B's ID card.
        let a = vault.put(b"case A: ID card 420102199003071234").unwrap();
        let b = vault.put(b"case B: ID card 110101198001010012").unwrap();
        std::fs::copy(vault.path_of(&a).unwrap(), vault.path_of(&b).unwrap()).unwrap();
        let error = vault.get(&b).unwrap_err();
        assert_eq!(error.code(), "attachment_mismatch", "{error}");
        assert!(
            error.message_zh().contains("不符"),
            "{}",
            error.message_zh()
        );
        assert_eq!(
            vault.get(&a).unwrap(),
            b"case A: ID card 420102199003071234"
        );

        // Old files have no associated data: the content hash catches the swap.
        let old_a = write_old_format(dir.path(), &key, b"old scan of case A");
        let old_b = write_old_format(dir.path(), &key, b"old scan of case B");
        std::fs::copy(
            vault.path_of(&old_a).unwrap(),
            vault.path_of(&old_b).unwrap(),
        )
        .unwrap();
        assert_eq!(vault.get(&old_b).unwrap_err().code(), "attachment_mismatch");
        assert_eq!(vault.get(&old_a).unwrap(), b"old scan of case A");
    }
}
