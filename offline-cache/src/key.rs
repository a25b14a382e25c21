//! The store key: 256 random bits made at first start and kept in the OS
//! key store (Secret Service on desktops, the kernel keyring where that is
//! what the machine has), never on disk in clear. A plain key file is used
//! only when an administrator names one explicitly, and then every start
//! logs a warning. Tests use keyring-core's mock store, on purpose.
//!
//! This module never logs or prints a key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::CacheError;

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
    /// The OS key store: Secret Service if reachable, else the kernel
    /// keyring (keyutils). `account` names the store (`cases`, `practice`).
    System { account: String },
    /// A given keyring-core store (tests pass the mock store here).
    Store {
        store: Arc<keyring_core::CredentialStore>,
        account: String,
    },
    /// A plain key file an administrator set explicitly in the config.
    File(PathBuf),
}

impl KeySource {
    /// The key for this source, made and saved on first use.
    pub fn obtain(&self) -> Result<StoreKey, CacheError> {
        match self {
            KeySource::System { account } => {
                let (store, _) = system_store()?;
                from_store(&store, account)
            }
            KeySource::Store { store, account } => from_store(store, account),
            KeySource::File(path) => from_file(path),
        }
    }
}

/// The OS key store this machine has, and its name: Secret Service first,
/// then the kernel keyring (keyutils).
pub fn system_store() -> Result<(Arc<keyring_core::CredentialStore>, &'static str), CacheError> {
    let mut problems = Vec::new();
    match zbus_secret_service_keyring_store::Store::new() {
        Ok(store) => {
            // Creating the store connects lazily; probe it once.
            let probe = keyring_core::Entry::new_in_store(
                &(store.clone() as Arc<keyring_core::CredentialStore>),
                SERVICE,
                "probe",
            );
            match probe.and_then(|entry| match entry.get_secret() {
                Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(error) => Err(error),
            }) {
                Ok(()) => return Ok((store, "secret-service")),
                Err(error) => problems.push(format!("Secret Service: {error}")),
            }
        }
        Err(error) => problems.push(format!("Secret Service: {error}")),
    }
    match linux_keyutils_keyring_store::Store::new() {
        Ok(store) => {
            let store: Arc<keyring_core::CredentialStore> = store;
            let probe = keyring_core::Entry::new_in_store(&store, SERVICE, "probe");
            match probe.and_then(|entry| match entry.get_secret() {
                Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(error) => Err(error),
            }) {
                Ok(()) => return Ok((store, "kernel-keyutils")),
                Err(error) => problems.push(format!("kernel keyring: {error}")),
            }
        }
        Err(error) => problems.push(format!("kernel keyring: {error}")),
    }
    Err(CacheError::KeyringUnavailable {
        detail: problems.join("; "),
    })
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

fn from_store(
    store: &Arc<keyring_core::CredentialStore>,
    account: &str,
) -> Result<StoreKey, CacheError> {
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
            StoreKey::from_hex(&text).ok_or(CacheError::KeyDamaged {
                detail: "not 64 hex digits".into(),
            })
        }
        Err(keyring_core::Error::NoEntry) => {
            let key = StoreKey::random();
            let text = Zeroizing::new(hex::encode(*key.0));
            entry.set_secret(text.as_bytes()).map_err(unavailable)?;
            tracing::info!(
                account,
                "made a new store key and saved it in the key store"
            );
            Ok(key)
        }
        Err(error) => Err(unavailable(error)),
    }
}

fn from_file(path: &Path) -> Result<StoreKey, CacheError> {
    tracing::warn!(path = %path.display(), "the store key is kept in a plain file set by the administrator; anyone who can read that file can read the cases");
    let problem = |detail: String| CacheError::KeyFile {
        path: path.to_path_buf(),
        detail,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            StoreKey::from_hex(&text).ok_or_else(|| problem("it must hold 64 hex digits".into()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = StoreKey::random();
            write_private(path, hex::encode(*key.0).as_bytes())
                .map_err(|error| problem(error.to_string()))?;
            Ok(key)
        }
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
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let source = KeySource::Store {
            store: store.clone(),
            account: "cases".into(),
        };
        let first = source.obtain().unwrap();
        let again = source.obtain().unwrap();
        assert_eq!(first.bytes(), again.bytes());
        let practice = KeySource::Store {
            store,
            account: "practice".into(),
        }
        .obtain()
        .unwrap();
        assert_ne!(first.bytes(), practice.bytes());
        assert_eq!(format!("{first:?}"), "StoreKey(…)");
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
        let path = dir.path().join("keys/store.key");
        let key = KeySource::File(path.clone()).obtain().unwrap();
        assert_eq!(
            KeySource::File(path.clone()).obtain().unwrap().bytes(),
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
        std::fs::write(&path, "not a key").unwrap();
        assert_eq!(
            KeySource::File(path).obtain().unwrap_err().code(),
            "key_file"
        );
    }
}
