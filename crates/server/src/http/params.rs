//! Path and query parameters parsed into their types by the extractors, so
//! a bad value is refused with the parameter's name before a handler runs.

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::{Deserialize, Deserializer};

use crate::http::error::ApiError;

/// A route's one path parameter, parsed with its type's `FromStr`.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

/// A route's two path parameters, in the order the route names them.
#[derive(Debug, Clone, Copy)]
pub struct ApiPaths<A, B>(pub A, pub B);

/// Parses a path or query value, naming the parameter when it is wrong.
fn parse<T>(name: &str, value: &str) -> Result<T, ApiError>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .parse()
        .map_err(|e: T::Err| ApiError::bad_request(name, format!("`{name}`: {e}")))
}

async fn raw_params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Vec<(String, String)>, ApiError> {
    let raw = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request("path", e.body_text()))?;
    Ok(raw
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// The route's parameters, or a bug: the handler was routed where its
/// parameters are not.
fn expect(params: &[(String, String)], count: usize) -> Result<(), ApiError> {
    if params.len() == count {
        Ok(())
    } else {
        Err(ApiError::Internal(
            format!(
                "a handler taking {count} path parameters is routed with {}",
                params.len()
            )
            .into(),
        ))
    }
}

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: FromStr,
    T::Err: Display,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = raw_params(parts, state).await?;
        expect(&params, 1)?;
        let (name, value) = &params[0];
        parse(name, value).map(ApiPath)
    }
}

impl<S, A, B> FromRequestParts<S> for ApiPaths<A, B>
where
    S: Send + Sync,
    A: FromStr,
    A::Err: Display,
    B: FromStr,
    B::Err: Display,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = raw_params(parts, state).await?;
        expect(&params, 2)?;
        let (first, second) = (&params[0], &params[1]);
        Ok(ApiPaths(
            parse(&first.0, &first.1)?,
            parse(&second.0, &second.1)?,
        ))
    }
}

/// For `#[serde(default, deserialize_with = "parsed")]` on an optional
/// query field: the value parsed with its type's `FromStr`, whose message
/// names what is wrong (the query extractor adds the parameter's name).
pub fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// The order of a sorted listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl FromStr for SortOrder {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err("must be asc or desc"),
        }
    }
}
