//! The API, played by vendors and partners over HTTP.
