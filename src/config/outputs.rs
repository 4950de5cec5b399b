//! Files weir would write, checked before it starts: the `debug` exporter's `path` must name a
//! file (not a directory) in a directory that exists and that weir may write to.
//!
//! Reads filesystem metadata only (creates and opens nothing); each problem is a message at the
//! `path` key.

use std::path::Path;

use serde_yaml_ng::Value;

use super::ComponentId;

/// `(dotted path, message)` for each output file named in the `exporters` section (as written,
/// so that it is checked even when other settings of its exporter are wrong) that cannot be
/// written.
pub fn problems(exporters: &Value) -> Vec<(String, String)> {
    let Some(map) = exporters.as_mapping() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(id, settings)| {
            let id = id.as_str()?;
            let kind = ComponentId::parse(id).ok()?.kind;
            let path = settings.get("path")?.as_str()?;
            (kind == "debug").then_some((id, path))
        })
        .filter_map(|(id, path)| {
            writable(Path::new(path))
                .err()
                .map(|why| (format!("exporters.{id}.path"), why))
        })
        .collect()
}

/// Whether `file` can be appended to or created, or why not.
fn writable(file: &Path) -> Result<(), String> {
    let shown = file.display();
    if let Ok(meta) = std::fs::metadata(file) {
        if meta.is_dir() {
            return Err(format!("{shown} is a directory; name a file in it"));
        }
        return access(file).map_err(|e| format!("{shown} cannot be written: {e}"));
    }
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "directory {} does not exist; weir creates the file, not its directory (mkdir -p {} first)",
            dir.display(),
            dir.display()
        )),
        Err(e) => Err(format!("directory {} cannot be read: {e}", dir.display())),
        Ok(meta) if !meta.is_dir() => Err(format!("{} is not a directory", dir.display())),
        Ok(_) => access(dir).map_err(|e| {
            format!(
                "weir may not create {shown}: directory {} is not writable ({e})",
                dir.display()
            )
        }),
    }
}

/// Whether this process may write to `path`, as the kernel answers (`access(2)`, `W_OK`).
fn access(path: &Path) -> Result<(), std::io::Error> {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_missing_directory_or_a_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(writable(&dir.path().join("out.jsonl")), Ok(()));
        let missing = writable(&dir.path().join("nope/out.jsonl")).expect_err("missing dir");
        assert!(missing.contains("does not exist"), "{missing}");
        assert!(
            writable(dir.path())
                .expect_err("a directory")
                .contains("is a directory")
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "x").expect("write");
        assert_eq!(writable(&file), Ok(()), "an existing file is appended to");
        assert!(
            writable(&file.join("out.jsonl"))
                .expect_err("parent is a file")
                .contains("is not a directory")
        );
    }
}
