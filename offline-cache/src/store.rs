//! Opening the encrypted store, and the one-writer / pooled-readers
//! arrangement that lets tokio code use it without blocking the runtime.
//!
//! Every connection starts with the SQLCipher raw key, then WAL,
//! `synchronous=FULL` and foreign keys. One writer thread owns the only
//! writing connection and runs jobs from a channel, each in an IMMEDIATE
//! transaction; readers come from an r2d2 pool on blocking threads.
//!
//! The writer must outlive any one job: a job that panics fails alone. Its
//! caller gets `write_failed`, its transaction is rolled back (a dropped
//! `Transaction` rolls back; a transaction begun by hand and left open is
//! rolled back by the writer), and the next job runs as usual. Jobs must
//! be short database work: slow or foreign code (document rendering) runs
//! outside the writer (see `documents`).
//!
//! Opening never changes a file it cannot read: a wrong key, a damaged or
//! truncated file, or a newer schema is reported and the file left as it was.

use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::error::CacheError;
use crate::key::StoreKey;
use crate::numbering::NumberingRule;
use crate::schema::{migrations, SCHEMA_VERSION};

/// Which store a [`CaseStore`] is: the real one or the practice one. The
/// mode is part of the type, so code that talks to real back offices can
/// require `CaseStore<Production>` and a practice store cannot be handed
/// to it.
pub trait StoreMode: Send + Sync + 'static {
    const FILE_NAME: &'static str;
    /// The key store account its key lives under.
    const KEY_ACCOUNT: &'static str;
    const IS_PRACTICE: bool;
}

/// The real case store.
#[derive(Debug)]
pub enum Production {}
/// The practice store for training; nothing in it reaches a real back office.
#[derive(Debug)]
pub enum Practice {}

impl StoreMode for Production {
    const FILE_NAME: &'static str = "cases.db";
    const KEY_ACCOUNT: &'static str = "cases";
    const IS_PRACTICE: bool = false;
}

impl StoreMode for Practice {
    const FILE_NAME: &'static str = "practice.db";
    const KEY_ACCOUNT: &'static str = "practice";
    const IS_PRACTICE: bool = true;
}

/// Settings of one store: who numbers its cases and documents, and how.
/// The app builds them from the hall's configuration; `Default` is the
/// sample hall of tests and benchmarks, never a real installation's.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The hall's code: on case numbers and in every payload (`case.hall_code`).
    pub hall_code: String,
    /// This workstation's window number, on every case and document number,
    /// so that the windows of one hall never issue the same number.
    pub window: String,
    /// The agency short name on document numbers (e.g. 江岸政务).
    pub agency: String,
    pub case_numbers: NumberingRule,
    pub document_numbers: NumberingRule,
    pub readers: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            hall_code: "SAMPLE".into(),
            window: "01".into(),
            agency: "示例政务".into(),
            case_numbers: NumberingRule::default_case_numbers(),
            document_numbers: NumberingRule::default_document_numbers(),
            readers: 4,
        }
    }
}

impl StoreOptions {
    /// What this store's numbers are made of, for a document of `kind_text`
    /// (empty for case numbers).
    pub fn number_parts<'a>(&'a self, kind_text: &'a str) -> crate::numbering::NumberParts<'a> {
        crate::numbering::NumberParts {
            hall: &self.hall_code,
            window: &self.window,
            agency: &self.agency,
            kind_text,
        }
    }

    /// The practice store's options: the same hall and window, every number
    /// marked `LX` (练习) so a practice receipt never carries a real number.
    pub fn for_practice(&self) -> Self {
        StoreOptions {
            case_numbers: self.case_numbers.prefixed("LX"),
            document_numbers: self.document_numbers.prefixed("练习"),
            ..self.clone()
        }
    }
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The case store.
pub struct CaseStore<M: StoreMode> {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    pub(crate) options: StoreOptions,
    _mode: PhantomData<M>,
}

/// Runs a statement through the connection's statement cache.
pub(crate) fn exec(
    connection: &rusqlite::Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(parameters)
}

/// Applies the key and the pragmas every connection needs.
fn prepare(connection: &Connection, key: &StoreKey) -> rusqlite::Result<()> {
    connection.pragma_update(None, "key", key.sqlcipher_literal().as_str())?;
    connection.busy_timeout(Duration::from_secs(10))?;
    // 32 MiB of decrypted pages per connection: lists of recent cases stay in memory.
    connection.pragma_update(None, "cache_size", -32768)?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn classify(path: &Path, error: rusqlite::Error) -> CacheError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            rusqlite::ErrorCode::NotADatabase => CacheError::WrongKeyOrNotAStore {
                path: path.to_path_buf(),
            },
            rusqlite::ErrorCode::DatabaseCorrupt => CacheError::Corrupt {
                path: path.to_path_buf(),
                detail: error.to_string(),
            },
            _ => crate::error::database(error),
        },
        _ => crate::error::database(error),
    }
}

/// What the caller of a job that panicked is told.
pub(crate) fn write_failed() -> CacheError {
    CacheError::Refused {
        code: "write_failed",
        message_zh: "保存时发生内部错误，本次操作未保存（已全部撤销），其他数据不受影响，可以继续工作。请重试；如再次出现，请联系系统管理员并提供日志。".into(),
        message_en: "An internal error stopped this save: nothing of it was written (it was rolled back), everything else is unaffected and work can go on. Try again; if it happens again, call the administrator with the log.".into(),
    }
}

/// Rolls back a transaction a panicking job left open on the writer's
/// connection, so that the next job can begin its own.
fn roll_back_left_open(connection: &Connection) {
    if !connection.is_autocommit() {
        if let Err(error) = connection.execute_batch("ROLLBACK") {
            tracing::error!(%error, "a transaction left open by a failed job could not be rolled back");
        }
    }
}

/// Runs one job's work on the writer's connection: a panic fails this job
/// alone (`write_failed`), with its transaction rolled back.
fn guarded<T>(
    connection: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, CacheError>,
) -> Result<T, CacheError> {
    match catch_unwind(AssertUnwindSafe(|| work(&mut *connection))) {
        Ok(result) => result,
        Err(_) => {
            // The panic hook has logged where; nothing of the job's data.
            roll_back_left_open(connection);
            tracing::error!("a store job panicked; it was rolled back and the writer goes on");
            Err(write_failed())
        }
    }
}

impl<M: StoreMode> CaseStore<M> {
    /// Opens (or creates) the store in `dir` with `key`, bringing its schema
    /// up to date.
    pub fn open(dir: &Path, key: &StoreKey, options: StoreOptions) -> Result<Self, CacheError> {
        std::fs::create_dir_all(dir).map_err(|error| CacheError::Io {
            path: dir.to_path_buf(),
            detail: error.to_string(),
        })?;
        let path = dir.join(M::FILE_NAME);
        let existed = path.exists();
        let mut writer = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| classify(&path, error))?;
        prepare(&writer, key).map_err(|error| classify(&path, error))?;
        // Reading the schema proves the key (SQLCipher checks it here).
        let version: i64 = writer
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .and_then(|()| writer.pragma_query_value(None, "user_version", |row| row.get(0)))
            .map_err(|error| classify(&path, error))?;
        if version > SCHEMA_VERSION {
            return Err(CacheError::NewerSchema {
                path,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if existed {
            let check: String = writer
                .query_row("PRAGMA quick_check", [], |row| row.get(0))
                .map_err(|error| classify(&path, error))?;
            if check != "ok" {
                return Err(CacheError::Corrupt {
                    path,
                    detail: check,
                });
            }
        }
        writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(|error| classify(&path, error))?;
        migrations()
            .to_latest(&mut writer)
            .map_err(|error| match error {
                rusqlite_migration::Error::RusqliteError { err, .. } => classify(&path, err),
                other => CacheError::Database(other.to_string()),
            })?;

        let reader_key = key.clone();
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |connection| prepare(connection, &reader_key));
        let readers = r2d2::Pool::builder()
            .max_size(options.readers.max(1))
            .min_idle(Some(0))
            .build(manager)
            .map_err(|error| CacheError::Database(error.to_string()))?;

        let (jobs, receiver) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name(format!("{}-writer", M::FILE_NAME))
            .spawn(move || {
                let mut connection = writer;
                while let Ok(job) = receiver.recv() {
                    // Jobs catch their own panics (`guarded`); this is the
                    // last line, so that the writer lives on whatever a
                    // job does.
                    if catch_unwind(AssertUnwindSafe(|| job(&mut connection))).is_err() {
                        roll_back_left_open(&connection);
                    }
                }
            })
            .map_err(|error| CacheError::Io {
                path: path.clone(),
                detail: error.to_string(),
            })?;
        tracing::info!(
            file = M::FILE_NAME,
            practice = M::IS_PRACTICE,
            "case store opened"
        );
        Ok(CaseStore {
            path,
            jobs: Some(jobs),
            writer: Some(writer),
            readers,
            options,
            _mode: PhantomData,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_practice(&self) -> bool {
        M::IS_PRACTICE
    }

    /// Runs `work` on the writer thread and waits for it (for code that is
    /// not async: the crash test's child, benchmarks, tools).
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, CacheError> + Send + 'static,
    {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.send(Box::new(move |connection| {
            let _ = reply.send(guarded(connection, work));
        }))?;
        answer.recv().map_err(|_| CacheError::Closed)?
    }

    /// Runs `work` on the writer thread; the caller's task waits without
    /// blocking the runtime.
    pub async fn write<T, F>(&self, work: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, CacheError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Box::new(move |connection| {
            let _ = reply.send(guarded(connection, work));
        }))?;
        answer.await.map_err(|_| CacheError::Closed)?
    }

    fn send(&self, job: Job) -> Result<(), CacheError> {
        self.jobs
            .as_ref()
            .ok_or(CacheError::Closed)?
            .send(job)
            .map_err(|_| CacheError::Closed)
    }

    /// Runs `work` on a pooled reader (blocking; use [`Self::read`] from async code).
    pub fn read_blocking<T, F>(&self, work: F) -> Result<T, CacheError>
    where
        F: FnOnce(&Connection) -> Result<T, CacheError>,
    {
        let connection = self
            .readers
            .get()
            .map_err(|error| CacheError::Database(error.to_string()))?;
        work(&connection)
    }

    /// Runs `work` on a pooled reader on a blocking thread.
    pub async fn read<T, F>(&self, work: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, CacheError> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let connection = pool
                .get()
                .map_err(|error| CacheError::Database(error.to_string()))?;
            work(&connection)
        })
        .await
        .map_err(|_| CacheError::Closed)?
    }

    /// `PRAGMA integrity_check`: `Ok` when the file is sound.
    pub fn integrity_check(&self) -> Result<(), CacheError> {
        let path = self.path.clone();
        self.read_blocking(move |connection| {
            let result: String =
                connection.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
            if result == "ok" {
                Ok(())
            } else {
                Err(CacheError::Corrupt {
                    path,
                    detail: result,
                })
            }
        })
    }

    /// Walks the audit chain.
    pub fn verify_audit(&self) -> Result<Result<i64, crate::audit::BrokenLink>, CacheError> {
        self.read_blocking(crate::audit::verify)
    }
}

impl<M: StoreMode> Drop for CaseStore<M> {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
