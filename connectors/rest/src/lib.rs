//! A declarative vendor source driven by a manifest: adding a vendor is writing a manifest.
