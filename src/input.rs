//! Reading an input file: the manifest, `--base`, `--state`, `--scenario`, the client-secret file,
//! and `decode`'s stdin. Every read is bounded in size, and a path is read only when it names a
//! regular file (or this process's own stdin, or `/dev/null`, which reads as empty), so a FIFO, a
//! device or a directory given by mistake or malice can neither block the run forever nor fill
//! memory.
//!
//! The file is opened non-blocking (opening a FIFO for reading otherwise waits for a writer) and
//! its type is taken from the open descriptor (`fstat`), not from the path, so nothing can swap the
//! file between the check and the read.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

/// The biggest input consentry reads (a manifest, a scenario, a state report, a token on stdin).
/// A 5,000-tenant manifest is well under 2 MiB; anything far beyond is a mistake or an attack.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why an input could not be read. Messages describe the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The operating system refused (not found, permission denied, ...).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not a regular file (and not stdin): reading it could block forever or never end.
    #[error("it is {kind}, not a regular file")]
    NotRegular {
        /// What it is: `a directory`, `a FIFO (named pipe)`, ...
        kind: &'static str,
    },
    /// Bigger than the limit.
    #[error("it is larger than the {} MiB limit", .limit / 1024 / 1024)]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl InputError {
    /// Whether nothing exists at the path.
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl From<InputError> for io::Error {
    fn from(error: InputError) -> io::Error {
        match error {
            InputError::Io(e) => e,
            InputError::NotRegular { .. } => io::Error::new(io::ErrorKind::InvalidInput, error),
            InputError::TooLarge { .. } => io::Error::new(io::ErrorKind::FileTooLarge, error),
        }
    }
}

/// What kind of file `file_type` is, for messages.
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// Whether `metadata` describes the same file as this process's stdin (`/dev/stdin`, `/dev/fd/0`,
/// or the file stdin was redirected from).
fn is_stdin(metadata: &std::fs::Metadata) -> bool {
    rustix::fs::fstat(io::stdin())
        .is_ok_and(|st| st.st_dev == metadata.dev() && st.st_ino == metadata.ino())
}

/// Whether `metadata` is the null device (character device 1:3 on Linux).
fn is_null_device(metadata: &std::fs::Metadata) -> bool {
    metadata.file_type().is_char_device()
        && rustix::fs::major(metadata.rdev()) == 1
        && rustix::fs::minor(metadata.rdev()) == 3
}

/// Reads at most `limit` bytes from `reader`; more is [`InputError::TooLarge`], never a bigger
/// allocation.
fn read_capped(reader: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads the file at `path`: a regular file of at most `limit` bytes, or stdin when `path` names
/// this process's stdin (a pipe included).
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let metadata = file.metadata()?;
    // `--base /dev/null` is the idiom for "empty": the null device ends at once, never blocks.
    if is_null_device(&metadata) {
        return Ok(Vec::new());
    }
    if !metadata.is_file() {
        // `/dev/stdin` when stdin is a pipe: read the process's own stdin, which blocks as a user
        // who piped data in expects (the reopened pipe would be non-blocking).
        if metadata.file_type().is_fifo() && is_stdin(&metadata) {
            drop(file);
            return read_stdin(limit);
        }
        return Err(InputError::NotRegular {
            kind: kind_of(metadata.file_type()),
        });
    }
    if metadata.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    // The size is checked again while reading: a file can grow after `fstat`. O_NONBLOCK has no
    // effect on a regular file, so this read behaves as a plain one.
    read_capped(file, limit)
}

/// Reads the file at `path` (see [`read`]) as UTF-8 text, at most [`MAX_FILE_BYTES`].
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let bytes = read(path, MAX_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
}

/// Reads stdin, at most `limit` bytes (`decode < /dev/zero` stops at the limit).
pub fn read_stdin(limit: u64) -> Result<Vec<u8>, InputError> {
    read_capped(io::stdin().lock(), limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, "version: 1\n").unwrap();
        assert_eq!(read(&path, 64).unwrap(), b"version: 1\n");
        assert_eq!(read_to_string(&path).unwrap(), "version: 1\n");
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, [b'x'; 65]).unwrap();
        assert!(matches!(
            read(&path, 64),
            Err(InputError::TooLarge { limit: 64 })
        ));
        assert_eq!(read(&path, 65).unwrap().len(), 65);
    }

    #[test]
    fn a_directory_and_a_device_are_refused_and_missing_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), 64).unwrap_err();
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        // /dev/zero would otherwise be read until the limit (or memory) runs out.
        let err = read(Path::new("/dev/zero"), 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
        assert!(
            read(&dir.path().join("nope"), 64)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &path, rustix::fs::Mode::from(0o600)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read(&reader, 64).map_err(|e| e.to_string()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO with no writer must not block");
        assert_eq!(
            result.unwrap_err(),
            "it is a FIFO (named pipe), not a regular file"
        );
    }

    #[test]
    fn errors_keep_their_kind_as_io_errors() {
        let too_large: io::Error = InputError::TooLarge { limit: 8 << 20 }.into();
        assert_eq!(too_large.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(too_large.to_string(), "it is larger than the 8 MiB limit");
        let fifo: io::Error = InputError::NotRegular { kind: "a FIFO" }.into();
        assert_eq!(fifo.kind(), io::ErrorKind::InvalidInput);
    }
}
