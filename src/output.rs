//! Where reports go: stdout, or a file written whole or not at all, without ever destroying
//! something that is not a report.
//!
//! A path given to `-o`/`--report` is first [`resolve`]d to a [`Target`]:
//! - `-` is stdout;
//! - a regular file (a symlink is followed to it) is replaced atomically: a temp file beside the
//!   real target, synced, then renamed over it, with the old file's mode and owner kept. A file the
//!   user cannot write is refused, and the check does not trust root's bypass of permission bits:
//!   a file with no write bit at all is read-only for root too;
//! - a path where nothing exists yet is created the same atomic way, with the default mode the
//!   umask gives (not a private 0600);
//! - a character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written in place:
//!   replacing it with a regular file would break the device for everyone;
//! - a directory, socket or block device is refused.
//!
//! [`check`] runs all of this before a run starts, and also refuses an output that is the same file
//! as an input or as another output (by device and inode, so hard links and symlinks count), so a
//! bad path costs nothing and `-o manifest.yaml` cannot replace the manifest.
//!
//! On Windows, with what stable Rust offers:
//! - the same-file check compares canonical paths (symlinks and `..` resolved, the on-disk case),
//!   not file ids (`MetadataExt::file_index` is unstable): a hard link to an input is not
//!   recognised, so `-o` naming a hard link of the manifest would replace that link's name with the
//!   report (the manifest under its own name is untouched: the rename only replaces a name);
//! - a file is read-only when its read-only attribute is set; an ACL that denies writing shows as
//!   an error at the write itself, which leaves the old file and no temp file;
//! - the atomic replace is the same (tempfile renames with `MoveFileExW`), but the old file's
//!   attributes and ACL are not carried over: the new file gets its folder's inherited ACL;
//! - the DOS devices (`NUL`, `CON`, ...; see [`crate::input::dos_device`]) are written in place;
//!   there are no FIFOs to recognise, and `-o` naming the file stdout is redirected to is not
//!   recognised as stdout.

use std::fs::{Metadata, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::input::kind_of;

/// Why an output cannot be written. Each message names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A directory, socket, block device, ...
    #[error("{} is {kind}; give a file path (or `-` for stdout)", path.display())]
    NotAFile {
        /// The path as given.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// An existing file the user may not write (no write permission, or no write bit at all).
    #[error("{} is read-only; consentry does not replace a file you cannot write", path.display())]
    ReadOnly {
        /// The path as given.
        path: PathBuf,
    },
    /// The folder that would hold the file is missing or not writable.
    #[error("cannot write {}: {reason}", path.display())]
    Folder {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with its folder.
        reason: String,
    },
    /// The output is also an input: writing it would destroy what is being read.
    #[error("{} ({output}) is the same file as {} ({input}); writing it would destroy the input: choose another output path", path.display(), other.display())]
    SameAsInput {
        /// The output path.
        path: PathBuf,
        /// Which output (`--output`, `--report`).
        output: &'static str,
        /// The input path.
        other: PathBuf,
        /// Which input (`manifest`, `--base`, ...).
        input: &'static str,
    },
    /// Two outputs name the same file (or both stdout): one would overwrite the other.
    #[error("{} and {} both write to {}: choose different outputs", first, second, path.display())]
    SameOutput {
        /// The shared path.
        path: PathBuf,
        /// One output.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// The operating system refused.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Where an output path leads, decided before anything is written.
#[derive(Debug)]
pub enum Target {
    /// stdout (`-`, or a path that is the file stdout already writes to).
    Stdout,
    /// An existing regular file: replaced atomically, keeping its mode and owner.
    Replace {
        /// The real file (symlinks followed).
        path: PathBuf,
        /// Its metadata when it was checked.
        metadata: Metadata,
    },
    /// Nothing there yet: created atomically.
    Create {
        /// The real path (its folder canonical).
        path: PathBuf,
    },
    /// A character device or FIFO: written in place.
    Stream {
        /// The path as given.
        path: PathBuf,
    },
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether `metadata` is the file stdout writes to.
#[cfg(unix)]
fn is_stdout(metadata: &Metadata) -> bool {
    rustix::fs::fstat(io::stdout())
        .is_ok_and(|st| st.st_dev == metadata.dev() && st.st_ino == metadata.ino())
}

/// Stable Rust cannot tell on Windows which file stdout's handle is (no file id): no path is
/// taken for stdout but `-`.
#[cfg(not(unix))]
fn is_stdout(_: &Metadata) -> bool {
    false
}

/// Whether the user may write `path`, asked of the kernel (groups, ACLs, read-only mounts) and,
/// for root (whom the kernel lets write anything), of the permission bits: a file nobody may
/// write was made read-only on purpose.
#[cfg(unix)]
fn may_write(path: &Path, metadata: &Metadata) -> bool {
    let kernel = rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok();
    let bits = !rustix::process::geteuid().is_root() || metadata.mode() & 0o222 != 0;
    kernel && bits
}

/// Windows: the read-only attribute. There is no stable `access(2)`; a denying ACL is reported
/// by the write itself.
#[cfg(not(unix))]
fn may_write(_: &Path, metadata: &Metadata) -> bool {
    !metadata.permissions().readonly()
}

/// A file type written in place, never replaced: a character device or a FIFO.
#[cfg(unix)]
fn is_stream(file_type: std::fs::FileType) -> bool {
    file_type.is_char_device() || file_type.is_fifo()
}

/// Windows devices are recognised by name before their metadata is read (see [`resolve`]).
#[cfg(not(unix))]
fn is_stream(_: std::fs::FileType) -> bool {
    false
}

/// Follows a dangling symlink chain to the path it would create (at most 40 links, as the kernel).
fn follow_dangling(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Decides where `path` leads and whether consentry may write there, without writing anything.
pub fn resolve(path: &Path) -> Result<Target, OutputError> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    // `-o NUL`: a device's metadata says little on Windows (NUL may even look like a file), so
    // the name decides, as it does for Windows.
    #[cfg(windows)]
    if crate::input::dos_device(path).is_some() {
        return Ok(Target::Stream {
            path: path.to_owned(),
        });
    }
    match std::fs::metadata(path) {
        Ok(metadata) => {
            let file_type = metadata.file_type();
            if !(file_type.is_file() || is_stream(file_type)) {
                return Err(OutputError::NotAFile {
                    path: path.to_owned(),
                    kind: kind_of(file_type),
                });
            }
            // `-o out.txt >> out.txt`, `-o /dev/stdout`: write through the stream the shell set up
            // (appends stay appends, a pipe stays a pipe).
            if is_stdout(&metadata) {
                return Ok(Target::Stdout);
            }
            if !may_write(path, &metadata) {
                return Err(OutputError::ReadOnly {
                    path: path.to_owned(),
                });
            }
            if file_type.is_file() {
                let real = std::fs::canonicalize(path).map_err(io_error(path))?;
                folder_writable(path, folder(&real))?;
                Ok(Target::Replace {
                    path: real,
                    metadata,
                })
            } else {
                Ok(Target::Stream {
                    path: path.to_owned(),
                })
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let real = follow_dangling(path).map_err(io_error(path))?;
            let Some(name) = real.file_name() else {
                return Err(OutputError::NotAFile {
                    path: path.to_owned(),
                    kind: "not a file name",
                });
            };
            let parent = folder(&real);
            let canonical = std::fs::canonicalize(parent).map_err(|e| OutputError::Folder {
                path: path.to_owned(),
                reason: format!("its folder {} cannot be used: {e}", parent.display()),
            })?;
            folder_writable(path, &canonical)?;
            Ok(Target::Create {
                path: canonical.join(name),
            })
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The temp file is made beside the target, so its folder must be a writable directory.
fn folder_writable(path: &Path, folder: &Path) -> Result<(), OutputError> {
    let refuse = |reason: String| OutputError::Folder {
        path: path.to_owned(),
        reason,
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(m) => {
            return Err(refuse(format!(
                "{} is {}, not a folder",
                folder.display(),
                kind_of(m.file_type())
            )));
        }
        Err(e) => return Err(refuse(format!("its folder {}: {e}", folder.display()))),
    }
    writable_dir(folder).map_err(refuse)
}

/// Whether a file can be created in `folder`, asked of the kernel.
#[cfg(unix)]
fn writable_dir(folder: &Path) -> Result<(), String> {
    let access = rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK;
    rustix::fs::access(folder, access).map_err(|e| {
        format!(
            "cannot create a file in {}: {}",
            folder.display(),
            io::Error::from(e)
        )
    })
}

/// Windows has no stable `access(2)`: a folder that refuses a new file fails the temp file's
/// creation, before anything is replaced.
#[cfg(not(unix))]
fn writable_dir(_: &Path) -> Result<(), String> {
    Ok(())
}

/// Identity of an existing file at `path`: device and inode, so hard links and symlinks count.
#[cfg(unix)]
fn identity(_: &Path, metadata: &Metadata) -> Option<(u64, u64)> {
    Some((metadata.dev(), metadata.ino()))
}

/// Windows: the canonical path (file ids are unstable in std), so symlinks and `..` count, hard
/// links do not.
#[cfg(not(unix))]
fn identity(path: &Path, _: &Metadata) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Whether two existing files are one, as far as [`identity`] can tell.
fn same_file(a: (&Path, &Metadata), b: (&Path, &Metadata)) -> bool {
    identity(a.0, a.1).is_some_and(|id| identity(b.0, b.1) == Some(id))
}

/// Resolves every output and refuses, before anything is sent or written, an output that cannot be
/// written, that is the same file as one of `inputs`, or that another output also writes. Outputs
/// and inputs are `(role, path)`: `("--report", path)`, `("manifest", path)`. Inputs that do not
/// exist are skipped (reading them fails on its own).
pub fn check(
    outputs: &[(&'static str, &Path)],
    inputs: &[(&'static str, &Path)],
) -> Result<Vec<Target>, OutputError> {
    let mut targets: Vec<Target> = Vec::with_capacity(outputs.len());
    for (i, &(role, path)) in outputs.iter().enumerate() {
        let target = resolve(path)?;
        if let Target::Replace {
            path: real,
            metadata,
        } = &target
        {
            for &(input, other) in inputs {
                if std::fs::metadata(other).is_ok_and(|m| same_file((other, &m), (real, metadata)))
                {
                    return Err(OutputError::SameAsInput {
                        path: path.to_owned(),
                        output: role,
                        other: other.to_owned(),
                        input,
                    });
                }
            }
        }
        for (j, earlier) in targets.iter().enumerate() {
            let same = match (earlier, &target) {
                (Target::Stdout, Target::Stdout) => true,
                (
                    Target::Replace {
                        path: a,
                        metadata: ma,
                    },
                    Target::Replace {
                        path: b,
                        metadata: mb,
                    },
                ) => same_file((a, ma), (b, mb)),
                (Target::Create { path: a }, Target::Create { path: b }) => a == b,
                // Two writers to /dev/null or a pipe do no harm to a file.
                _ => false,
            };
            if same {
                return Err(OutputError::SameOutput {
                    path: path.to_owned(),
                    first: outputs[j].0,
                    second: outputs[i].0,
                });
            }
        }
        targets.push(target);
    }
    Ok(targets)
}

/// Writes `content` to `target`.
pub fn write(target: &Target, content: &[u8]) -> Result<(), OutputError> {
    match target {
        Target::Stdout => write_stdout(content).map_err(io_error(Path::new("stdout"))),
        Target::Stream { path } => {
            let written = OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(content).and_then(|()| f.flush()));
            match written {
                // A reader that went away is a normal end, as for stdout.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(io_error(path)),
            }
        }
        Target::Replace { path, metadata } => replace(path, content, Some(metadata)),
        Target::Create { path } => replace(path, content, None),
    }
}

/// The atomic write: a temp file in the target's folder, synced, renamed over the target. A crash,
/// an error or a signal leaves the old file (or none), never half a report; the temp file is
/// removed on every error path.
fn replace(path: &Path, content: &[u8], existing: Option<&Metadata>) -> Result<(), OutputError> {
    let fail = io_error(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".consentry-").suffix(".tmp");
    // Windows has no mode to give: a new file gets its folder's inherited ACL either way.
    #[cfg(unix)]
    if existing.is_none() {
        // The kernel applies the umask to this mode, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(folder(path)).map_err(&fail)?;
    // Windows: stable Rust cannot copy an ACL or owner; the replaced report gets the folder's.
    #[cfg(unix)]
    if let Some(old) = existing {
        // Owner first: changing it may clear set-id bits, which the mode then restores. Only root
        // may give a file away; for anyone else the owner is already theirs, so failure is moot.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(old.uid()), Some(old.gid()));
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
            .map_err(&fail)?;
    }
    tmp.write_all(content).map_err(&fail)?;
    tmp.as_file().sync_all().map_err(&fail)?;
    if existing.is_some() {
        tmp.persist(path).map_err(|e| fail(e.error))?;
    } else {
        // Something created there since the check is not ours to replace.
        tmp.persist_noclobber(path).map_err(|e| fail(e.error))?;
    }
    Ok(())
}

/// Writes `content` to `path` (resolved now; see [`resolve`]).
pub fn write_path(path: &Path, content: &[u8]) -> Result<(), OutputError> {
    write(&resolve(path)?, content)
}

/// Writes `content` to stdout. A closed pipe (`consentry plan | head`) is a normal end, not an error.
pub fn write_stdout(content: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(content).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes to `path` when given (see [`write_path`]), else to stdout.
pub fn emit(path: Option<&Path>, content: &[u8]) -> Result<(), OutputError> {
    match path {
        Some(p) => write_path(p, content),
        None => write_stdout(content).map_err(io_error(Path::new("stdout"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::fs::Permissions;
    #[cfg(unix)]
    use std::os::unix::fs::{OpenOptionsExt as _, symlink};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_whole_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_path(&path, b"first").unwrap();
        write_path(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn atomic_write_into_a_missing_folder_fails_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("report.json");
        let err = write_path(&path, b"x").unwrap_err();
        assert!(matches!(err, OutputError::Folder { .. }), "{err}");
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        symlink("real.json", &link).unwrap();
        write_path(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A dangling link creates its target.
        let dangling = dir.path().join("later.json");
        symlink("made.json", &dangling).unwrap();
        write_path(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("made.json")).unwrap(),
            b"made"
        );
        assert_eq!(
            names(dir.path()),
            ["later.json", "link.json", "made.json", "real.json"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_mode_and_a_new_one_follows_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.json");
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, Permissions::from_mode(0o640)).unwrap();
        write_path(&old, b"y").unwrap();
        let mode = std::fs::metadata(&old).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);

        let new = dir.path().join("new.json");
        write_path(&new, b"z").unwrap();
        let mode = std::fs::metadata(&new).unwrap().mode() & 0o777;
        // What a plain `File::create` gets under the same umask.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let expected = std::fs::metadata(&plain).unwrap().mode() & 0o777;
        assert_eq!(mode, expected);
        assert_ne!(mode, 0o600, "the umask, not a private mode");
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_file_is_refused_even_for_root() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.json");
        std::fs::write(&path, "keep").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o444)).unwrap();
        let err = write_path(&path, b"lost").unwrap_err();
        assert!(matches!(err, OutputError::ReadOnly { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        assert_eq!(names(dir.path()), ["locked.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_and_directories_refused() {
        // /dev/null is only resolved, never written: if this ever regressed, writing it as root
        // would replace the machine's /dev/null with a file.
        let target = resolve(Path::new("/dev/null")).unwrap();
        assert!(
            matches!(target, Target::Stream { .. } | Target::Stdout),
            "{target:?}"
        );
        // A FIFO stands in for a device: written in place, it stays a FIFO and its reader gets
        // the content.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        // A reader opened non-blocking first, so the write does not wait and a regression (the
        // FIFO replaced) shows as no data instead of a hang.
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&fifo)
            .unwrap();
        write_path(&fifo, b"through").unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut got).unwrap();
        assert_eq!(got, b"through");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(dir.path()), ["fifo"]);

        let err = write_path(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn an_output_that_is_an_input_is_refused_by_inode() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("m.yaml");
        std::fs::write(&manifest, "version: 1").unwrap();
        let hard = dir.path().join("hard.yaml");
        std::fs::hard_link(&manifest, &hard).unwrap();
        let soft = dir.path().join("soft.yaml");
        symlink("m.yaml", &soft).unwrap();
        for output in [&manifest, &hard, &soft] {
            let err = check(&[("--output", output)], &[("manifest", &manifest)]).unwrap_err();
            assert!(matches!(err, OutputError::SameAsInput { .. }), "{err}");
        }
        let report = dir.path().join("r.json");
        let err = check(
            &[("--output", &report), ("--report", &report)],
            &[("manifest", &manifest)],
        )
        .unwrap_err();
        assert!(matches!(err, OutputError::SameOutput { .. }), "{err}");
        let dash = Path::new("-");
        assert!(check(&[("--output", dash), ("--report", dash)], &[]).is_err());
        let null = Path::new("/dev/null");
        assert!(check(&[("--output", null), ("--report", null)], &[]).is_ok());
        assert!(check(&[("--output", &report)], &[("manifest", &manifest)]).is_ok());
        assert_eq!(std::fs::read(&manifest).unwrap(), b"version: 1");
    }

    #[cfg(windows)]
    #[test]
    fn windows_read_only_files_are_refused_and_nul_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.json");
        std::fs::write(&path, "keep").unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(&path, permissions).unwrap();
        let err = write_path(&path, b"lost").unwrap_err();
        assert!(matches!(err, OutputError::ReadOnly { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");

        for nul in ["NUL", "nul"] {
            let target = resolve(Path::new(nul)).unwrap();
            assert!(matches!(target, Target::Stream { .. }), "{target:?}");
        }
        write_path(Path::new("NUL"), b"gone").unwrap();
        let null = Path::new("NUL");
        assert!(check(&[("--output", null), ("--report", null)], &[]).is_ok());
        let err = write_path(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert_eq!(names(dir.path()), ["locked.json"]);
    }

    #[cfg(windows)]
    #[test]
    fn windows_an_output_that_is_an_input_is_refused_by_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("m.yaml");
        std::fs::write(&manifest, "version: 1").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let roundabout = dir.path().join("sub").join("..").join("M.YAML");
        for output in [&manifest, &roundabout] {
            let err = check(&[("--output", output)], &[("manifest", &manifest)]).unwrap_err();
            assert!(matches!(err, OutputError::SameAsInput { .. }), "{err}");
        }
        let report = dir.path().join("r.json");
        std::fs::write(&report, "{}").unwrap();
        let err = check(
            &[
                ("--output", &report),
                ("--report", &roundabout.with_file_name("R.json")),
            ],
            &[("manifest", &manifest)],
        )
        .unwrap_err();
        assert!(matches!(err, OutputError::SameOutput { .. }), "{err}");
        let dash = Path::new("-");
        assert!(check(&[("--output", dash), ("--report", dash)], &[]).is_err());
        assert!(check(&[("--output", &report)], &[("manifest", &manifest)]).is_ok());
        assert_eq!(std::fs::read(&manifest).unwrap(), b"version: 1");
    }
}
