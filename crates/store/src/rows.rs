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

/// Converts the row found, if any.
pub(crate) fn convert_one<R, T>(row: Option<R>) -> Result<Option<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    row.map(T::try_from).transpose()
}

/// Selects rows of type `$row` and converts each into its domain type:
/// `select!(all, Row, tx, sql, binds...)` gives a `Vec`, `optional` an
/// `Option`. With `read(scope)` (or `write(scope)`) in place of a transaction
/// it runs in a read (write) transaction of its own in that scope. One query text serves both
/// backends, as with [`on_tx`](crate::tx::on_tx).
macro_rules! select {
    ($kind:ident, $row:ty, read($scope:expr), $($rest:tt)*) => {{
        let mut tx = $scope.begin($crate::tx::Access::Read).await?;
        let out = $crate::rows::select!($kind, $row, tx, $($rest)*);
        tx.commit().await?;
        out
    }};
    ($kind:ident, $row:ty, write($scope:expr), $($rest:tt)*) => {{
        let mut tx = $scope.begin($crate::tx::Access::Write).await?;
        let out = $crate::rows::select!($kind, $row, tx, $($rest)*);
        tx.commit().await?;
        out
    }};
    (all, $row:ty, $tx:expr, $sql:expr $(, $bind:expr)* $(,)?) => {{
        let rows: Vec<$row> = $crate::tx::on_tx!($tx, c => {
            ::sqlx::query_as($sql)$(.bind($bind))*.fetch_all(&mut *c).await?
        });
        $crate::rows::convert_all(rows)
    }};
    (optional, $row:ty, $tx:expr, $sql:expr $(, $bind:expr)* $(,)?) => {{
        let row: Option<$row> = $crate::tx::on_tx!($tx, c => {
            ::sqlx::query_as($sql)$(.bind($bind))*.fetch_optional(&mut *c).await?
        });
        $crate::rows::convert_one(row)
    }};
}
pub(crate) use select;

/// Declares a table's row type and its conversion into the domain type, one
/// line a column: `column: StoredType => expression` converts it (the
/// expression sees every column of the row by name), `column: Type` keeps it
/// as stored. Each column becomes the domain field of the same name, so the
/// column list and the conversion cannot drift apart.
macro_rules! table_row {
    ($row:ident => $domain:ident { $($column:ident : $ty:ty $(=> $convert:expr)?),+ $(,)? }) => {
        #[derive(sqlx::FromRow)]
        pub(crate) struct $row {
            $($column: $ty),+
        }

        impl TryFrom<$row> for $domain {
            type Error = $crate::StoreError;
            fn try_from(row: $row) -> Result<Self, $crate::StoreError> {
                let $row { $($column),+ } = row;
                Ok($domain {
                    $($column: $crate::rows::table_row!(@convert $column $(, $convert)?)),+
                })
            }
        }
    };
    (@convert $column:ident) => {
        $column
    };
    (@convert $column:ident, $convert:expr) => {
        $convert
    };
}
pub(crate) use table_row;
