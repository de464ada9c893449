//! Reading an input file: the manifest, `--base`, `--state`, `--scenario`, the client-secret file,
//! and `decode`'s stdin. Every read is bounded in size, and a path is read only when it names a
//! regular file (or this process's own stdin, or `/dev/null`, which reads as empty), so a FIFO, a
//! device or a directory given by mistake or malice can neither block the run forever nor fill
//! memory.
//!
//! The file is opened non-blocking (opening a FIFO for reading otherwise waits for a writer) and
//! its type is taken from the open descriptor (`fstat`), not from the path, so nothing can swap the
//! file between the check and the read.
//!
//! On Windows there is no FIFO to open (a named pipe lives in `\\.\pipe\`, and opening one does
//! not wait) and no `O_NONBLOCK`: the file is opened plainly and must still be a regular file by its
//! handle's metadata. The DOS device names (`NUL`, `CON`, `COM1`, ...; see [`dos_device`]) are
//! recognised by name, as Windows itself does: `NUL` reads as empty, the others are refused. The
//! size bound holds on every platform.

use std::fs::OpenOptions;
use std::io::{self, Read};
#[cfg(unix)]
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
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        special_kind(file_type)
    }
}

/// The Unix file types beyond file, directory and link.
#[cfg(unix)]
fn special_kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Stable Rust tells Windows file types apart only as file, directory and link.
#[cfg(not(unix))]
fn special_kind(_: std::fs::FileType) -> &'static str {
    "not a file"
}

/// Whether `metadata` describes the same file as this process's stdin (`/dev/stdin`, `/dev/fd/0`,
/// or the file stdin was redirected from).
#[cfg(unix)]
fn is_stdin(metadata: &std::fs::Metadata) -> bool {
    rustix::fs::fstat(io::stdin())
        .is_ok_and(|st| st.st_dev == metadata.dev() && st.st_ino == metadata.ino())
}

/// Whether `metadata` is the null device (character device 1:3 on Linux).
#[cfg(unix)]
fn is_null_device(metadata: &std::fs::Metadata) -> bool {
    metadata.file_type().is_char_device()
        && rustix::fs::major(metadata.rdev()) == 1
        && rustix::fs::minor(metadata.rdev()) == 3
}

/// The DOS device `path` names, upper-cased (`NUL`, `CON`, `COM1`, ...), if it names one: a path
/// in the device namespace (`\\.\NUL`), or a path whose file name is a reserved device name.
/// Windows opens these devices whatever folder the path puts them in; stable Rust has no API that
/// asks Windows, so the names are matched here. A name with an extension (`nul.txt`) is a device
/// on older Windows but a file on Windows 11; it is treated as a file, which at worst means such a
/// device is refused, never that a file is taken for a device.
#[cfg(windows)]
pub fn dos_device(path: &Path) -> Option<String> {
    let text = path.as_os_str().to_str()?;
    let name = match text
        .strip_prefix(r"\\.\")
        .or_else(|| text.strip_prefix("//./"))
    {
        Some(device) => device,
        None => path.file_name()?.to_str()?,
    };
    let name = name.trim_end_matches([' ', '.']).to_ascii_uppercase();
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| matches!(n.as_bytes(), [b'0'..=b'9']))
    };
    let reserved = matches!(
        name.as_str(),
        "NUL" | "CON" | "PRN" | "AUX" | "CONIN$" | "CONOUT$"
    ) || numbered("COM")
        || numbered("LPT");
    reserved.then_some(name)
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
#[cfg(unix)]
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
    read_regular(file, &metadata, limit)
}

/// Reads the file at `path`: a regular file of at most `limit` bytes; `NUL` reads as empty.
#[cfg(windows)]
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    // Checked by name before opening: `CON` would wait for the console, `COM1` for a modem.
    match dos_device(path).as_deref() {
        Some("NUL") => return Ok(Vec::new()),
        Some(_) => return Err(InputError::NotRegular { kind: "a device" }),
        None => {}
    }
    let file = match OpenOptions::new().read(true).open(path) {
        Ok(file) => file,
        // Windows opens no directory as a file and says only "Access is denied": say what it is.
        Err(e) => match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(InputError::NotRegular {
                    kind: kind_of(m.file_type()),
                });
            }
            _ => return Err(e.into()),
        },
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(InputError::NotRegular {
            kind: kind_of(metadata.file_type()),
        });
    }
    read_regular(file, &metadata, limit)
}

/// Reads an opened regular file, bounded by `limit`.
fn read_regular(
    file: std::fs::File,
    metadata: &std::fs::Metadata,
    limit: u64,
) -> Result<Vec<u8>, InputError> {
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
    fn a_directory_is_refused_and_missing_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), 64).unwrap_err();
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        assert!(
            read(&dir.path().join("nope"), 64)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_and_the_null_device_reads_empty() {
        // /dev/zero would otherwise be read until the limit (or memory) runs out.
        let err = read(Path::new("/dev/zero"), 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
        assert_eq!(read(Path::new("/dev/null"), 64).unwrap(), b"");
    }

    #[cfg(windows)]
    #[test]
    fn dos_devices_are_known_by_name_and_nul_reads_empty() {
        for (path, device) in [
            ("NUL", Some("NUL")),
            ("nul", Some("NUL")),
            (r"C:\reports\con", Some("CON")),
            (r"\\.\COM3", Some("COM3")),
            ("lpt1", Some("LPT1")),
            ("com10", None),
            ("nul.txt", None),
            ("console", None),
            (r"\\.\pipe\consentry", None),
        ] {
            assert_eq!(dos_device(Path::new(path)).as_deref(), device, "{path}");
        }
        assert_eq!(read(Path::new("NUL"), 64).unwrap(), b"");
        // CON would wait for someone to type.
        let err = read(Path::new("CON"), 64).unwrap_err();
        assert_eq!(err.to_string(), "it is a device, not a regular file");
    }

    #[cfg(unix)]
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
