//! Rows as stored: parsing stored text back into the domain, and
//! converting a query's rows. Each table's own row type lives with its
//! table in [`crate::tables`].

use std::str::FromStr;

use crate::StoreError;

/// Parses a stored value, or reports the row as corrupt.
pub(crate) fn parse<T>(what: &'static str, s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| StoreError::corrupt(what, e))
}

/// Parses an optional stored value.
pub(crate) fn parse_opt<T>(what: &'static str, s: Option<&str>) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.map(|s| parse(what, s)).transpose()
}

/// Converts every row, failing on the first that does not parse.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
