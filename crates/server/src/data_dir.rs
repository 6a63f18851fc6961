//! The data directory: where the SQLite database and the generated secret
//! key live.

use std::path::Path;

/// Creates a directory (and its parents) readable by the owner only, as the
/// data directory holds the key and, on SQLite, all the data.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}
