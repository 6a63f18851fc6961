//! The server's secret key: 32 bytes that seal connector credentials and
//! other secrets before they reach the database.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "secret.key";

/// The key length in bytes.
pub const KEY_LEN: usize = 32;

/// Why a secret key could not be read, parsed or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// The text is not base64. The decoder's own message is left out: it
    /// quotes the offending character, which in a nearly right key is a
    /// piece of the secret.
    #[error("the secret key is not valid base64")]
    Base64,
    /// The text decodes to the wrong number of bytes.
    #[error(
        "the secret key decodes to {0} bytes but must be {KEY_LEN}; \
         create one with `openssl rand -base64 32`"
    )]
    Length(usize),
    /// The operating system could not supply random bytes.
    #[error("cannot generate a secret key")]
    Random(#[source] getrandom::Error),
    /// The key file exists but does not hold a key.
    #[error("the key file {} is malformed", path.display())]
    MalformedFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<SecretKeyError>,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The key file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl SecretKeyError {
    /// Whether the operator can fix this by correcting a setting or a file,
    /// as opposed to an environment failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::Base64 | Self::Length(_) | Self::MalformedFile { .. }
        )
    }
}

/// 32 secret bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Parses standard base64 (padding optional, surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SecretKeyError> {
        let trimmed = text.trim();
        let bytes = STANDARD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
            .map_err(|_| SecretKeyError::Base64)?;
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SecretKeyError::Length(b.len()))?;
        Ok(Self(bytes))
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, SecretKeyError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(SecretKeyError::Random)?;
        Ok(Self(bytes))
    }

    /// The key as standard base64, the form it is configured and stored in.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The raw bytes, for the code that seals and opens secrets.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `secret_key` was set in the configuration.
    Configured,
    /// Read from the key file of an earlier start.
    Loaded(PathBuf),
    /// Generated now and written to the key file.
    Generated(PathBuf),
}

/// Reads `<data_dir>/secret.key`, or generates it when it does not exist.
///
/// A new key is written to a private staging file of its own, synced, then
/// moved into place only if no key file exists by then. When several
/// processes (replicas sharing a volume) or threads start at once, exactly
/// one key wins and every caller returns it; no reader ever sees a
/// half-written file.
pub fn load_or_create(data_dir: &Path) -> Result<(SecretKey, KeyOrigin), SecretKeyError> {
    let path = data_dir.join(KEY_FILE);
    if let Some(key) = read_key_file(&path)? {
        return Ok((key, KeyOrigin::Loaded(path)));
    }
    crate::data_dir::create_private_dir(data_dir).map_err(|source| SecretKeyError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let key = SecretKey::generate()?;
    let staged = stage(data_dir, &key)?;
    match staged.persist_noclobber(&path) {
        Ok(_) => {
            sync_dir(data_dir)?;
            Ok((key, KeyOrigin::Generated(path)))
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            // Another process won the race: use its key, not ours. Dropping
            // our staging file removes it, and only it.
            drop(e.file);
            let key = read_key_file(&path)?.ok_or_else(|| SecretKeyError::Io {
                path: path.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            })?;
            Ok((key, KeyOrigin::Loaded(path)))
        }
        Err(e) => Err(SecretKeyError::Io {
            path,
            source: e.error,
        }),
    }
}

/// Writes the key to a uniquely named file in `data_dir`, private from the
/// moment it is created, and syncs it so the rename never publishes an
/// empty file after a crash.
fn stage(data_dir: &Path, key: &SecretKey) -> Result<tempfile::NamedTempFile, SecretKeyError> {
    let io_error = |source| SecretKeyError::Io {
        path: data_dir.to_owned(),
        source,
    };
    let prefix = format!(".{KEY_FILE}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(data_dir).map_err(io_error)?;
    file.write_all(key.to_base64().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.as_file().sync_all())
        .map_err(io_error)?;
    Ok(file)
}

/// Makes the new key file's name durable: without it, a crash soon after
/// start could lose the file while secrets sealed with the key remain.
fn sync_dir(dir: &Path) -> Result<(), SecretKeyError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| SecretKeyError::Io {
            path: dir.to_owned(),
            source,
        })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_key_file(path: &Path) -> Result<Option<SecretKey>, SecretKeyError> {
    match fs::read_to_string(path) {
        Ok(text) => SecretKey::from_base64(&text).map(Some).map_err(|source| {
            SecretKeyError::MalformedFile {
                path: path.to_owned(),
                source: Box::new(source),
            }
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SecretKeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let key = SecretKey([7u8; KEY_LEN]);
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }

    #[test]
    fn base64_round_trips() {
        let key = SecretKey::generate().unwrap();
        assert_eq!(
            SecretKey::from_base64(&format!("  {}\n", key.to_base64())).unwrap(),
            key
        );
    }

    #[test]
    fn wrong_length_is_named() {
        let err = SecretKey::from_base64(&STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(matches!(err, SecretKeyError::Length(16)), "{err}");
        assert!(err.to_string().contains("16 bytes"));
    }

    #[test]
    fn not_base64_is_refused_without_quoting_the_text() {
        let almost = format!("{}~", &SecretKey::generate().unwrap().to_base64()[..43]);
        let err = SecretKey::from_base64(&almost).unwrap_err();
        assert!(matches!(err, SecretKeyError::Base64), "{err}");
        assert!(std::error::Error::source(&err).is_none());
        assert!(!err.to_string().contains('~'), "{err}");
    }

    #[test]
    fn concurrent_starts_all_end_up_with_one_key() {
        const CALLERS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let barrier = std::sync::Barrier::new(CALLERS);
        let results: Vec<(SecretKey, KeyOrigin)> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..CALLERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        load_or_create(&data).unwrap()
                    })
                })
                .collect();
            callers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let on_disk = load_or_create(&data).unwrap().0;
        assert!(results.iter().all(|(key, _)| *key == on_disk));
        let generated = results
            .iter()
            .filter(|(_, origin)| matches!(origin, KeyOrigin::Generated(_)))
            .count();
        assert_eq!(generated, 1);
        let files: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, [KEY_FILE], "staging files left behind");
    }

    #[test]
    fn key_file_is_created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        let (first, origin) = load_or_create(&data).unwrap();
        assert_eq!(origin, KeyOrigin::Generated(data.join(KEY_FILE)));
        let (second, origin) = load_or_create(&data).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded(data.join(KEY_FILE)));
        assert_eq!(first, second);
        let leftovers: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != KEY_FILE)
            .collect();
        assert!(
            leftovers.is_empty(),
            "staging files left behind: {leftovers:?}"
        );
    }

    #[test]
    fn malformed_key_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        fs::write(&path, "short").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, SecretKeyError::MalformedFile { .. }), "{err}");
        assert!(err.is_bad_input());
        assert_eq!(fs::read_to_string(&path).unwrap(), "short");
    }
}
