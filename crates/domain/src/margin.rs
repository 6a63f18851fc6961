//! The margin engine (being written).
