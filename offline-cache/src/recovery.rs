//! The recovery key: 256 random bits made with the store key when a store
//! is first created, shown to the administrator once, to be kept on paper.
//! The store key is kept wrapped by it next to the store
//! (`cases.key-recovery`, 0600): XChaCha20-Poly1305 under a key derived
//! from the recovery key with Argon2id. When the key store is ever lost,
//! typing the recovery key unwraps the store key, which is checked against
//! the store and saved in the key store again.
//!
//! A recovery key is written for people: 56 Crockford base32 characters
//! (32 bytes and a 3-byte check) in 14 groups of 4; case, `I`/`L` for `1`
//! and `O` for `0`, spaces and dashes do not matter, and a mistyped
//! character is caught by the check before anything is tried.
//!
//! This module never logs or prints a key, never writes the store, and
//! never replaces a key that was not proved to open the store.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CacheError;
use crate::key::{KeySource, StoreKey};

/// The associated data of the wrapped key (binds it to its purpose).
const AAD: &[u8] = b"onewindow store key, wrapped by the recovery key, v1";
/// Argon2id cost: 19 MiB, 2 passes (OWASP's baseline); run once at
/// creation and once per recovery.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

/// A 256-bit recovery key.
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("RecoveryKey(…)")
    }
}

fn encoding() -> data_encoding::Encoding {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    spec.translate.from.push_str("abcdefghjkmnpqrstvwxyzIiLlOo");
    spec.translate.to.push_str("ABCDEFGHJKMNPQRSTVWXYZ111100");
    spec.ignore.push_str("- ");
    spec.encoding()
        .expect("a valid Crockford base32 specification")
}

fn check(bytes: &[u8; 32]) -> [u8; 3] {
    let digest = Sha256::new()
        .chain_update(b"onewindow recovery key check")
        .chain_update(bytes)
        .finalize();
    [digest[0], digest[1], digest[2]]
}

fn mistyped() -> CacheError {
    CacheError::Refused {
        code: "recovery_key_mistyped",
        message_zh: "恢复密钥输入有误：应为 14 组、每组 4 个字符（数字和字母），请逐组核对后重新输入。未做任何改动。".into(),
        message_en: "The recovery key is mistyped: it has 14 groups of 4 characters (digits and letters); check each group and type it again. Nothing was changed.".into(),
    }
}

impl RecoveryKey {
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        RecoveryKey(Zeroizing::new(bytes))
    }

    /// The key as a person reads and types it: `XXXX-XXXX-…` (14 groups).
    pub fn display(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 35]);
        bytes[..32].copy_from_slice(&*self.0);
        bytes[32..].copy_from_slice(&check(&self.0));
        let text = Zeroizing::new(encoding().encode(&*bytes));
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        Zeroizing::new(groups.join("-"))
    }

    /// Reads a typed recovery key; a character wrong or missing is
    /// `recovery_key_mistyped`.
    pub fn parse(text: &str) -> Result<Self, CacheError> {
        let decoded = Zeroizing::new(
            encoding()
                .decode(text.trim().as_bytes())
                .map_err(|_| mistyped())?,
        );
        if decoded.len() != 35 {
            return Err(mistyped());
        }
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&decoded[..32]);
        let key = RecoveryKey(Zeroizing::new(bytes));
        if check(&key.0) != decoded[32..] {
            return Err(mistyped());
        }
        Ok(key)
    }

    fn wrapping_key(&self, salt: &[u8], memory: u32, passes: u32) -> Result<[u8; 32], String> {
        let params = argon2::Params::new(memory, passes, 1, Some(32)).map_err(|e| e.to_string())?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(&*self.0, salt, &mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The wrapped store key on disk.
#[derive(Serialize, Deserialize)]
struct Sealed {
    version: u32,
    kdf: String,
    memory_kib: u32,
    passes: u32,
    salt: String,
    nonce: String,
    wrapped: String,
    /// The administrator confirmed having the recovery key on paper.
    acknowledged: bool,
}

/// Where the wrapped key of the store at `store_file` lives:
/// `cases.db` → `cases.key-recovery`, in the same folder.
pub fn recovery_file(store_file: &Path) -> PathBuf {
    store_file.with_extension("key-recovery")
}

/// How the recovery key of a store stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryState {
    /// No recovery file (a store made before recovery keys existed).
    Missing,
    /// Written, but the administrator has not confirmed keeping the key.
    Unacknowledged,
    /// The administrator confirmed keeping the key.
    Acknowledged,
}

fn file_error(path: &Path, detail: impl ToString) -> CacheError {
    CacheError::Io {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn read_sealed(store_file: &Path) -> Result<Option<Sealed>, CacheError> {
    let path = recovery_file(store_file);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            CacheError::Refused {
                code: "recovery_file_damaged",
                message_zh: format!("恢复文件 {} 已损坏，无法用恢复密钥打开办件库。文件未被改动，请从备份恢复该文件。", path.display()),
                message_en: format!("The recovery file {} is damaged ({error}), so the recovery key cannot open the store. The file was left untouched; restore it from backup.", path.display()),
            }
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(file_error(&path, error)),
    }
}

fn write_sealed(store_file: &Path, sealed: &Sealed) -> Result<(), CacheError> {
    use std::io::Write;
    let path = recovery_file(store_file);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|error| file_error(dir, error))?;
    let temporary = path.with_extension("key-recovery.tmp");
    let bytes = serde_json::to_vec_pretty(sealed).map_err(|error| file_error(&path, error))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(&bytes)?;
        file.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(file_error(&temporary, error));
    }
    std::fs::rename(&temporary, &path).map_err(|error| file_error(&path, error))?;
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Wraps `store_key` by `recovery` and writes it next to the store (not
/// yet acknowledged), replacing any recovery file before.
pub fn seal(
    store_file: &Path,
    store_key: &StoreKey,
    recovery: &RecoveryKey,
) -> Result<(), CacheError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut nonce);
    let path = recovery_file(store_file);
    let wrapping = Zeroizing::new(
        recovery
            .wrapping_key(&salt, MEMORY_KIB, PASSES)
            .map_err(|error| file_error(&path, error))?,
    );
    let wrapped = XChaCha20Poly1305::new(&(*wrapping).into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: store_key.bytes(),
                aad: AAD,
            },
        )
        .map_err(|_| file_error(&path, "the key could not be wrapped"))?;
    write_sealed(
        store_file,
        &Sealed {
            version: 1,
            kdf: "argon2id".into(),
            memory_kib: MEMORY_KIB,
            passes: PASSES,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            wrapped: hex::encode(wrapped),
            acknowledged: false,
        },
    )
}

fn wrong() -> CacheError {
    CacheError::Refused {
        code: "recovery_key_wrong",
        message_zh: "这个恢复密钥不是本办件库的恢复密钥，办件库未打开，未做任何改动。请核对是否为本工作站的恢复密钥。".into(),
        message_en: "This recovery key is not the one of this case store: the store stays closed and nothing was changed. Check that it is this workstation's recovery key.".into(),
    }
}

/// The store key wrapped next to the store, unwrapped with `recovery`.
pub fn unseal(store_file: &Path, recovery: &RecoveryKey) -> Result<StoreKey, CacheError> {
    let path = recovery_file(store_file);
    let sealed = read_sealed(store_file)?.ok_or_else(|| CacheError::Refused {
        code: "recovery_file_missing",
        message_zh: format!("找不到恢复文件 {}，恢复密钥无法打开办件库。未做任何改动，请从备份恢复该文件。", path.display()),
        message_en: format!("The recovery file {} is missing, so the recovery key cannot open the store. Nothing was changed; restore the file from backup.", path.display()),
    })?;
    let damaged = || {
        CacheError::Refused {
        code: "recovery_file_damaged",
        message_zh: format!("恢复文件 {} 已损坏，无法用恢复密钥打开办件库。文件未被改动，请从备份恢复该文件。", path.display()),
        message_en: format!("The recovery file {} is damaged, so the recovery key cannot open the store. The file was left untouched; restore it from backup.", path.display()),
    }
    };
    // The cost is read from the file: a damaged or altered one must not make
    // anyone at the window wait for ever or run out of memory.
    if sealed.version != 1
        || sealed.kdf != "argon2id"
        || !(8..=4 * MEMORY_KIB).contains(&sealed.memory_kib)
        || !(1..=4 * PASSES).contains(&sealed.passes)
    {
        return Err(damaged());
    }
    let salt = hex::decode(&sealed.salt).map_err(|_| damaged())?;
    let nonce = hex::decode(&sealed.nonce).map_err(|_| damaged())?;
    let wrapped = hex::decode(&sealed.wrapped).map_err(|_| damaged())?;
    if nonce.len() != 24 {
        return Err(damaged());
    }
    let wrapping = Zeroizing::new(
        recovery
            .wrapping_key(&salt, sealed.memory_kib, sealed.passes)
            .map_err(|_| damaged())?,
    );
    let bytes = Zeroizing::new(
        XChaCha20Poly1305::new(&(*wrapping).into())
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &wrapped,
                    aad: AAD,
                },
            )
            .map_err(|_| wrong())?,
    );
    let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| damaged())?;
    Ok(StoreKey::from_bytes(array))
}

/// How the recovery key of the store at `store_file` stands.
pub fn state(store_file: &Path) -> Result<RecoveryState, CacheError> {
    Ok(match read_sealed(store_file)? {
        None => RecoveryState::Missing,
        Some(sealed) if sealed.acknowledged => RecoveryState::Acknowledged,
        Some(_) => RecoveryState::Unacknowledged,
    })
}

/// Records that the administrator keeps the recovery key.
pub fn acknowledge(store_file: &Path) -> Result<(), CacheError> {
    let path = recovery_file(store_file);
    let mut sealed =
        read_sealed(store_file)?.ok_or_else(|| file_error(&path, "there is no recovery file"))?;
    sealed.acknowledged = true;
    write_sealed(store_file, &sealed)
}

/// Checks that `key` opens the store at `store_file` (reading only).
pub fn key_opens(store_file: &Path, key: &StoreKey) -> Result<(), CacheError> {
    use rusqlite::{Connection, OpenFlags};
    let connection = Connection::open_with_flags(
        store_file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| file_error(store_file, error))?;
    connection
        .pragma_update(None, "key", key.sqlcipher_literal().as_str())
        .and_then(|()| connection.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
        .map_err(|_| CacheError::WrongKeyOrNotAStore {
            path: store_file.to_path_buf(),
        })
}

/// The recovery flow: the typed recovery key unwraps the store key, which
/// must open the store; then it is saved in the key store of `source` and
/// returned. A mistyped or wrong key changes nothing.
pub fn recover(source: &KeySource, store_file: &Path, typed: &str) -> Result<StoreKey, CacheError> {
    let recovery = RecoveryKey::parse(typed)?;
    let key = unseal(store_file, &recovery)?;
    key_opens(store_file, &key)?;
    source.save(&key)?;
    tracing::warn!(
        store = %store_file.display(),
        "the store key was recovered with the recovery key and saved in the key store again"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_key_reads_back_as_typed_by_a_person() {
        let key = RecoveryKey::random();
        let shown = key.display();
        let groups: Vec<&str> = shown.split('-').collect();
        assert_eq!(groups.len(), 14, "{}", shown.len());
        assert!(groups.iter().all(|group| group.len() == 4));
        let typed = shown.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(*RecoveryKey::parse(&typed).unwrap().0, *key.0);
        // One character changed is caught by the check.
        let mut changed: Vec<char> = shown.chars().collect();
        changed[5] = if changed[5] == 'A' { 'B' } else { 'A' };
        let changed: String = changed.into_iter().collect();
        assert_eq!(
            RecoveryKey::parse(&changed).unwrap_err().code(),
            "recovery_key_mistyped"
        );
        // A group left out too.
        assert_eq!(
            RecoveryKey::parse(&shown[5..]).unwrap_err().code(),
            "recovery_key_mistyped"
        );
        assert_eq!(format!("{key:?}"), "RecoveryKey(…)");
    }

    /// An altered cost in the file (a huge memory size or pass count) is a
    /// damaged file, refused at once, not an allocation that ends the app.
    #[test]
    fn an_altered_cost_in_the_recovery_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store_file = dir.path().join("cases.db");
        let recovery = RecoveryKey::random();
        seal(&store_file, &StoreKey::random(), &recovery).unwrap();
        let path = recovery_file(&store_file);
        let good: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (field, value) in [("memory_kib", u32::MAX), ("passes", 1_000_000)] {
            let mut altered = good.clone();
            altered[field] = serde_json::json!(value);
            std::fs::write(&path, altered.to_string()).unwrap();
            let started = std::time::Instant::now();
            let error = unseal(&store_file, &recovery).unwrap_err();
            assert_eq!(error.code(), "recovery_file_damaged", "{field}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{field}"
            );
        }
    }

    #[test]
    fn the_wrapped_key_opens_only_with_its_recovery_key() {
        let dir = tempfile::tempdir().unwrap();
        let store_file = dir.path().join("cases.db");
        let store_key = StoreKey::random();
        let recovery = RecoveryKey::random();
        seal(&store_file, &store_key, &recovery).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(recovery_file(&store_file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(recovery_file(&store_file)).unwrap();
        assert!(
            !text.contains(&hex::encode(store_key.bytes())),
            "the key is in clear"
        );
        assert_eq!(
            unseal(&store_file, &recovery).unwrap().bytes(),
            store_key.bytes()
        );
        assert_eq!(
            unseal(&store_file, &RecoveryKey::random())
                .unwrap_err()
                .code(),
            "recovery_key_wrong"
        );
        assert_eq!(state(&store_file).unwrap(), RecoveryState::Unacknowledged);
        acknowledge(&store_file).unwrap();
        assert_eq!(state(&store_file).unwrap(), RecoveryState::Acknowledged);
        assert_eq!(
            unseal(&store_file, &recovery).unwrap().bytes(),
            store_key.bytes()
        );
        assert_eq!(
            state(&dir.path().join("other.db")).unwrap(),
            RecoveryState::Missing
        );
    }
}
