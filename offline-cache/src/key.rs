//! The store key: 256 random bits made at the store's first creation and
//! kept in the OS key store (the Secret Service), never on disk in clear.
//!
//! A key is made only when no file of its store exists: an existing store
//! whose key is not found (a key store lost, locked or not started yet) is
//! `store_key_missing`, and nothing is written — no new key, the store
//! untouched; the administrator then starts or unlocks the key store, or
//! opens the store with its recovery key (`crate::recovery`, made with the
//! key). A key store that cannot be reached is an error too, never a reason
//! to use another. The kernel keyring (keyutils, in memory only: gone at
//! every reboot) and a plain key file are used only when an administrator
//! names them in the configuration, and then every start logs a warning
//! and the window shows it. Tests use keyring-core's mock store, on purpose.
//!
//! This module never logs or prints a key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::CacheError;
use crate::recovery::RecoveryKey;

/// The service name under which OneWindow keeps its keys.
pub const SERVICE: &str = "cn.onewindow.workstation";

/// A 256-bit store key.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("StoreKey(…)")
    }
}

impl StoreKey {
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        StoreKey(Zeroizing::new(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StoreKey(Zeroizing::new(bytes))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The SQLCipher raw-key literal: `x'<64 hex digits>'`.
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(*self.0)))
    }

    fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(StoreKey::from_bytes(array))
    }
}

/// Where the key lives.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The Secret Service (the desktop's key store); never another store in
    /// its place. `account` names the store (`cases`).
    System { account: String },
    /// The kernel keyring (keyutils): in memory only, empty after every
    /// reboot. Only when an administrator chose it; warned about.
    KernelKeyring { account: String },
    /// A given keyring-core store (tests pass the mock store here).
    Store {
        store: Arc<keyring_core::CredentialStore>,
        account: String,
    },
    /// A plain key file an administrator set explicitly in the config.
    File(PathBuf),
}

/// The key of a store, and its recovery key when the key was just made.
#[derive(Debug)]
pub struct Obtained {
    pub key: StoreKey,
    /// Set only at the store's first creation: show it to the
    /// administrator once.
    pub recovery: Option<RecoveryKey>,
}

/// Whether any file of the store at `store_file` exists: the database, its
/// write-ahead log or its rollback journal (each may hold cases).
pub fn store_exists(store_file: &Path) -> bool {
    let with = |suffix: &str| {
        let mut name = store_file.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    store_file.exists() || with("-wal").exists() || with("-journal").exists()
}

impl KeySource {
    /// The key of the store whose database is `store_file`
    /// (`<data>/cases/cases.db`), made (with its recovery key, written next
    /// to the store) only when no file of that store exists.
    pub fn obtain(&self, store_file: &Path) -> Result<StoreKey, CacheError> {
        self.open(store_file).map(|obtained| obtained.key)
    }

    /// [`KeySource::obtain`], with the recovery key when one was made.
    pub fn open(&self, store_file: &Path) -> Result<Obtained, CacheError> {
        if let Some(key) = self.read()? {
            return Ok(Obtained {
                key,
                recovery: None,
            });
        }
        if store_exists(store_file) {
            // Never a new key for a store that exists: it would make every
            // case in it unreadable. Nothing is written.
            tracing::error!(
                store = %store_file.display(),
                source = self.name(),
                "the case store exists but its key was not found; nothing was changed"
            );
            return Err(CacheError::StoreKeyMissing {
                path: store_file.to_path_buf(),
            });
        }
        let key = StoreKey::random();
        let recovery = RecoveryKey::random();
        // The recovery file first: a key that is saved always has one.
        crate::recovery::seal(store_file, &key, &recovery)?;
        self.save(&key)?;
        tracing::info!(
            source = self.name(),
            "made a new store key for a new store, and its recovery key"
        );
        Ok(Obtained {
            key,
            recovery: Some(recovery),
        })
    }

    /// Saves `key` (a new store's, or one recovered).
    pub fn save(&self, key: &StoreKey) -> Result<(), CacheError> {
        let text = Zeroizing::new(hex::encode(*key.0));
        match self {
            KeySource::System { account } => {
                set_entry(&secret_service_store()?, account, text.as_bytes())
            }
            KeySource::KernelKeyring { account } => {
                set_entry(&kernel_keyring_store()?, account, text.as_bytes())
            }
            KeySource::Store { store, account } => set_entry(store, account, text.as_bytes()),
            KeySource::File(path) => {
                let problem = |detail: String| CacheError::KeyFile {
                    path: path.to_path_buf(),
                    detail,
                };
                write_private(path, text.as_bytes()).map_err(|error| problem(error.to_string()))
            }
        }
    }

    /// The key saved, `None` when none is; an error when the key store
    /// cannot be reached (never taken as "none").
    fn read(&self) -> Result<Option<StoreKey>, CacheError> {
        match self {
            KeySource::System { account } => read_entry(&secret_service_store()?, account),
            KeySource::KernelKeyring { account } => {
                tracing::warn!("the store key is kept in the kernel keyring, chosen by the administrator: it is lost at every reboot, and the cases can then be opened only with the recovery key");
                read_entry(&kernel_keyring_store()?, account)
            }
            KeySource::Store { store, account } => read_entry(store, account),
            KeySource::File(path) => read_file(path),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            KeySource::System { .. } => "secret-service",
            KeySource::KernelKeyring { .. } => "kernel-keyring",
            KeySource::Store { .. } => "given-store",
            KeySource::File(_) => "key-file",
        }
    }

    /// What the window shows while this source is in use: the kernel
    /// keyring and a key file are allowed, never quietly.
    pub fn warning(&self) -> Option<KeyWarning> {
        match self {
            KeySource::KernelKeyring { .. } => Some(KeyWarning {
                code: "key_store_volatile",
                message_zh: "办件库密钥保存在内核密钥环中（管理员配置）：每次重启后密钥都会丢失，届时只能用恢复密钥打开办件库。请妥善保管恢复密钥，或改用系统密钥服务。".into(),
                message_en: "The store key is kept in the kernel keyring (set by the administrator): it is lost at every reboot, and the store can then be opened only with the recovery key. Keep the recovery key safe, or use the system key store.".into(),
            }),
            KeySource::File(path) => Some(KeyWarning {
                code: "key_store_file",
                message_zh: format!("办件库密钥保存在明文密钥文件 {} 中（管理员配置）：能读取该文件的人都能读取办件。", path.display()),
                message_en: format!("The store key is kept in the plain key file {} (set by the administrator): anyone who can read that file can read the cases.", path.display()),
            }),
            KeySource::System { .. } | KeySource::Store { .. } => None,
        }
    }
}

/// A warning about where the key is kept, for the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWarning {
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

fn probe(store: &Arc<keyring_core::CredentialStore>) -> Result<(), keyring_core::Error> {
    keyring_core::Entry::new_in_store(store, SERVICE, "probe").and_then(|entry| {
        match entry.get_secret() {
            Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(error) => Err(error),
        }
    })
}

/// The Secret Service, probed once; an error when it cannot be reached
/// (nothing else is tried).
pub fn secret_service_store() -> Result<Arc<keyring_core::CredentialStore>, CacheError> {
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: format!("Secret Service: {error}"),
    };
    let store: Arc<keyring_core::CredentialStore> =
        zbus_secret_service_keyring_store::Store::new().map_err(unavailable)?;
    probe(&store).map_err(unavailable)?;
    Ok(store)
}

/// The kernel keyring (keyutils), probed once. Volatile: only for a key
/// store an administrator chose.
pub fn kernel_keyring_store() -> Result<Arc<keyring_core::CredentialStore>, CacheError> {
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: format!("kernel keyring: {error}"),
    };
    let store: Arc<keyring_core::CredentialStore> =
        linux_keyutils_keyring_store::Store::new().map_err(unavailable)?;
    probe(&store).map_err(unavailable)?;
    Ok(store)
}

/// The OS key store for back-office tokens and its name: the Secret
/// Service. (Store keys go through [`KeySource`].)
pub fn system_store() -> Result<(Arc<keyring_core::CredentialStore>, &'static str), CacheError> {
    secret_service_store().map(|store| (store, "secret-service"))
}

/// The bearer token of a back-office system, kept in the key store under
/// `backoffice-token:<system>`; `None` when none was saved yet.
pub fn backoffice_token(
    store: &Arc<keyring_core::CredentialStore>,
    system: &str,
) -> Result<Option<String>, CacheError> {
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: error.to_string(),
    };
    let entry =
        keyring_core::Entry::new_in_store(store, SERVICE, &format!("backoffice-token:{system}"))
            .map_err(unavailable)?;
    match entry.get_password() {
        Ok(token) => Ok(Some(token)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(error) => Err(unavailable(error)),
    }
}

/// Saves a back-office system's bearer token in the key store.
pub fn save_backoffice_token(
    store: &Arc<keyring_core::CredentialStore>,
    system: &str,
    token: &str,
) -> Result<(), CacheError> {
    if token.trim().is_empty() {
        return Err(CacheError::BadInput(format!(
            "the token for {system} is empty"
        )));
    }
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: error.to_string(),
    };
    keyring_core::Entry::new_in_store(store, SERVICE, &format!("backoffice-token:{system}"))
        .and_then(|entry| entry.set_password(token))
        .map_err(unavailable)
}

fn read_entry(
    store: &Arc<keyring_core::CredentialStore>,
    account: &str,
) -> Result<Option<StoreKey>, CacheError> {
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: error.to_string(),
    };
    let entry = keyring_core::Entry::new_in_store(store, SERVICE, account).map_err(unavailable)?;
    match entry.get_secret() {
        Ok(secret) => {
            let text =
                Zeroizing::new(
                    String::from_utf8(secret).map_err(|_| CacheError::KeyDamaged {
                        detail: "not text".into(),
                    })?,
                );
            StoreKey::from_hex(&text)
                .map(Some)
                .ok_or(CacheError::KeyDamaged {
                    detail: "not 64 hex digits".into(),
                })
        }
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(error) => Err(unavailable(error)),
    }
}

fn set_entry(
    store: &Arc<keyring_core::CredentialStore>,
    account: &str,
    secret: &[u8],
) -> Result<(), CacheError> {
    let unavailable = |error: keyring_core::Error| CacheError::KeyringUnavailable {
        detail: error.to_string(),
    };
    keyring_core::Entry::new_in_store(store, SERVICE, account)
        .and_then(|entry| entry.set_secret(secret))
        .map_err(unavailable)
}

fn read_file(path: &Path) -> Result<Option<StoreKey>, CacheError> {
    tracing::warn!(path = %path.display(), "the store key is kept in a plain file set by the administrator; anyone who can read that file can read the cases");
    let problem = |detail: String| CacheError::KeyFile {
        path: path.to_path_buf(),
        detail,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => StoreKey::from_hex(&text)
            .map(Some)
            .ok_or_else(|| problem("it must hold 64 hex digits".into())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(problem(error.to_string())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_store_keeps_one_key_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let source = KeySource::Store {
            store: store.clone(),
            account: "cases".into(),
        };
        let made = source.open(&dir.path().join("cases.db")).unwrap();
        assert!(
            made.recovery.is_some(),
            "a new store's key comes with a recovery key"
        );
        let again = source.open(&dir.path().join("cases.db")).unwrap();
        assert!(again.recovery.is_none());
        assert_eq!(made.key.bytes(), again.key.bytes());
        let practice = KeySource::Store {
            store,
            account: "practice".into(),
        }
        .obtain(&dir.path().join("practice.db"))
        .unwrap();
        assert_ne!(made.key.bytes(), practice.bytes());
        assert_eq!(format!("{:?}", made.key), "StoreKey(…)");
        assert!(source.warning().is_none());
    }

    #[test]
    fn back_office_tokens_live_in_the_key_store() {
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        assert_eq!(backoffice_token(&store, "social-insurance").unwrap(), None);
        save_backoffice_token(&store, "social-insurance", "secret-1").unwrap();
        assert_eq!(
            backoffice_token(&store, "social-insurance")
                .unwrap()
                .as_deref(),
            Some("secret-1")
        );
        assert_eq!(
            backoffice_token(&store, "market-registration").unwrap(),
            None
        );
        assert_eq!(
            save_backoffice_token(&store, "x", " ").unwrap_err().code(),
            "bad_input"
        );
    }

    #[test]
    fn a_key_file_is_made_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store_file = dir.path().join("cases/cases.db");
        let path = dir.path().join("keys/store.key");
        let key = KeySource::File(path.clone()).obtain(&store_file).unwrap();
        assert_eq!(
            KeySource::File(path.clone())
                .obtain(&store_file)
                .unwrap()
                .bytes(),
            key.bytes()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            KeySource::File(path.clone()).warning().unwrap().code,
            "key_store_file"
        );
        std::fs::write(&path, "not a key").unwrap();
        assert_eq!(
            KeySource::File(path)
                .obtain(&store_file)
                .unwrap_err()
                .code(),
            "key_file"
        );
    }

    #[test]
    fn a_key_store_that_cannot_be_reached_makes_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let store_file = dir.path().join("cases.db");
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let entry = keyring_core::Entry::new_in_store(&store, SERVICE, "cases").unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::NoStorageAccess(Box::new(
            std::io::Error::other("locked"),
        )));
        let source = KeySource::Store {
            store: store.clone(),
            account: "cases".into(),
        };
        // Even for a store not made yet: an unreachable key store is no
        // reason to make a key (the real one may be there).
        assert_eq!(
            source.obtain(&store_file).unwrap_err().code(),
            "keyring_unavailable"
        );
        assert!(!crate::recovery::recovery_file(&store_file).exists());
        assert!(matches!(
            entry.get_secret(),
            Err(keyring_core::Error::NoEntry)
        ));
    }

    #[test]
    fn the_kernel_keyring_is_always_warned_about() {
        let warning = KeySource::KernelKeyring {
            account: "cases".into(),
        }
        .warning()
        .unwrap();
        assert_eq!(warning.code, "key_store_volatile");
        assert!(warning.message_zh.contains("重启"));
        assert!(warning.message_en.contains("reboot"));
    }
}
