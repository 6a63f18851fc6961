//! AWS's published service model of the Partner Central Selling API (the
//! botocore `service-2.json`, kept unchanged in the crate's `testkit`
//! folder and built into the fake), and a
//! validator of JSON values against its shapes: types, required members,
//! unknown members, enums, string patterns and lengths, list and number
//! bounds, ISO 8601 timestamps, nested structures, lists and maps.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use super::pattern::Pattern;

/// AWS's model of the Selling API, unchanged.
const SELLING: &str = include_str!("../../testkit/partnercentral-selling-2022-07-26.json");

/// What is wrong with a value, as AWS's `ValidationExceptionError` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `Customer.Account.CompanyName`, `Project.DeliveryModels[0]`.
    pub field: String,
    /// `REQUIRED_FIELD_MISSING`, `INVALID_ENUM_VALUE`, `INVALID_STRING_FORMAT`,
    /// `INVALID_VALUE`, `TOO_MANY_VALUES`, `NOT_ENOUGH_VALUES`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.field, self.code, self.message)
    }
}

/// A service model.
pub struct Model {
    doc: Value,
    patterns: Mutex<BTreeMap<String, Arc<Result<Pattern, String>>>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The document is thousands of lines: its name says which it is.
        f.debug_struct("Model")
            .field("uid", &self.doc["metadata"]["uid"])
            .finish_non_exhaustive()
    }
}

impl Model {
    /// The Selling API's model, read once.
    pub fn selling() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::parse(SELLING).expect("the Selling API's model is JSON"))
    }

    /// A model from its JSON text (a botocore `service-2.json`).
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self {
            doc: serde_json::from_str(text)?,
            patterns: Mutex::default(),
        })
    }

    /// The model's document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Value> {
        self.doc["operations"].get(name)
    }

    /// The name of `operation`'s input shape.
    pub fn input(&self, operation: &str) -> Option<&str> {
        self.operation(operation)?["input"]["shape"].as_str()
    }

    /// The name of `operation`'s output shape, when it has one.
    pub fn output(&self, operation: &str) -> Option<&str> {
        self.operation(operation)?["output"]["shape"].as_str()
    }

    /// Checks `body` against `operation`'s input.
    pub fn check_input(&self, operation: &str, body: &Value) -> Vec<Problem> {
        match self.input(operation) {
            Some(shape) => self.check(shape, body),
            None => vec![Problem {
                field: String::new(),
                code: "INVALID_VALUE",
                message: format!("the model has no operation `{operation}`"),
            }],
        }
    }

    /// Checks `value` against the shape named `shape`.
    pub fn check(&self, shape: &str, value: &Value) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.validate(shape, value, "", &mut problems);
        problems
    }

    fn shape(&self, name: &str) -> &Value {
        self.doc["shapes"]
            .get(name)
            .unwrap_or_else(|| panic!("the model has no shape {name}"))
    }

    fn pattern(&self, source: &str) -> Arc<Result<Pattern, String>> {
        let mut patterns = self.patterns.lock().unwrap();
        patterns
            .entry(source.to_owned())
            .or_insert_with(|| Arc::new(Pattern::compile(source)))
            .clone()
    }

    fn validate(&self, name: &str, value: &Value, at: &str, problems: &mut Vec<Problem>) {
        let shape = self.shape(name);
        let mut problem = |code: &'static str, message: String| {
            problems.push(Problem {
                field: at.to_owned(),
                code,
                message,
            })
        };
        let kind = shape["type"].as_str().unwrap_or_default();
        let number = |key: &str| shape.get(key).and_then(Value::as_f64);
        match kind {
            "structure" => {
                let Some(fields) = value.as_object() else {
                    return problem(
                        "INVALID_VALUE",
                        format!("expected an object ({name}), got {value}"),
                    );
                };
                self.structure(shape, fields, at, problems);
            }
            "list" => {
                let Some(items) = value.as_array() else {
                    return problem(
                        "INVALID_VALUE",
                        format!("expected a list ({name}), got {value}"),
                    );
                };
                if let Some(min) = number("min")
                    && (items.len() as f64) < min
                {
                    problem(
                        "NOT_ENOUGH_VALUES",
                        format!("has {} items, fewer than {min}", items.len()),
                    );
                }
                if let Some(max) = number("max")
                    && (items.len() as f64) > max
                {
                    problem(
                        "TOO_MANY_VALUES",
                        format!("has {} items, more than {max}", items.len()),
                    );
                }
                let member = shape["member"]["shape"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                for (i, item) in items.iter().enumerate() {
                    self.validate(&member, item, &format!("{at}[{i}]"), problems);
                }
            }
            "map" => {
                let Some(entries) = value.as_object() else {
                    return problem(
                        "INVALID_VALUE",
                        format!("expected a map ({name}), got {value}"),
                    );
                };
                let key = shape["key"]["shape"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let item = shape["value"]["shape"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                for (k, v) in entries {
                    self.validate(
                        &key,
                        &Value::String(k.clone()),
                        &format!("{at}.{k}(key)"),
                        problems,
                    );
                    self.validate(&item, v, &format!("{at}.{k}"), problems);
                }
            }
            "string" => {
                let Some(text) = value.as_str() else {
                    return problem(
                        "INVALID_VALUE",
                        format!("expected a string ({name}), got {value}"),
                    );
                };
                self.string(shape, name, text, at, problems);
            }
            "integer" | "long" => {
                let Some(n) = value.as_i64() else {
                    return problem(
                        "INVALID_VALUE",
                        format!("expected an integer ({name}), got {value}"),
                    );
                };
                if number("min").is_some_and(|min| (n as f64) < min)
                    || number("max").is_some_and(|max| (n as f64) > max)
                {
                    problem(
                        "INVALID_VALUE",
                        format!("{n} is outside {:?}..{:?}", number("min"), number("max")),
                    );
                }
            }
            "double" | "float" => {
                if !value.is_number() {
                    problem(
                        "INVALID_VALUE",
                        format!("expected a number ({name}), got {value}"),
                    );
                }
            }
            "boolean" => {
                if !value.is_boolean() {
                    problem(
                        "INVALID_VALUE",
                        format!("expected true or false ({name}), got {value}"),
                    );
                }
            }
            "timestamp" => {
                let fits = match shape["timestampFormat"].as_str() {
                    Some("iso8601") => value
                        .as_str()
                        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
                    // The JSON protocol's default: seconds since the epoch.
                    _ => value.is_number(),
                };
                if !fits {
                    problem(
                        "INVALID_STRING_FORMAT",
                        format!("{value} is not a timestamp ({name})"),
                    );
                }
            }
            "blob" => {
                if !value.is_string() {
                    problem(
                        "INVALID_VALUE",
                        format!("expected base64 text ({name}), got {value}"),
                    );
                }
            }
            other => problem(
                "INVALID_VALUE",
                format!("the validator does not know type `{other}`"),
            ),
        }
    }

    fn structure(
        &self,
        shape: &Value,
        fields: &Map<String, Value>,
        at: &str,
        problems: &mut Vec<Problem>,
    ) {
        let members = shape["members"].as_object().cloned().unwrap_or_default();
        let here = |name: &str| {
            if at.is_empty() {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            }
        };
        for required in shape["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if fields.get(required).is_none_or(Value::is_null) {
                problems.push(Problem {
                    field: here(required),
                    code: "REQUIRED_FIELD_MISSING",
                    message: format!("`{required}` is required"),
                });
            }
        }
        if shape.get("union").and_then(Value::as_bool) == Some(true) && fields.len() != 1 {
            problems.push(Problem {
                field: at.to_owned(),
                code: "INVALID_VALUE",
                message: format!("a union takes exactly one member, got {}", fields.len()),
            });
        }
        for (name, value) in fields {
            match members.get(name) {
                // AWS's JSON protocol reads null as absent.
                Some(_) if value.is_null() => {}
                Some(member) => {
                    let shape = member["shape"].as_str().unwrap_or_default().to_owned();
                    self.validate(&shape, value, &here(name), problems);
                }
                None => problems.push(Problem {
                    field: here(name),
                    code: "INVALID_VALUE",
                    message: format!("`{name}` is not a member of this structure"),
                }),
            }
        }
    }

    fn string(&self, shape: &Value, name: &str, text: &str, at: &str, problems: &mut Vec<Problem>) {
        let mut problem = |code: &'static str, message: String| {
            problems.push(Problem {
                field: at.to_owned(),
                code,
                message,
            })
        };
        if let Some(allowed) = shape["enum"].as_array()
            && !allowed.iter().any(|a| a.as_str() == Some(text))
        {
            problem(
                "INVALID_ENUM_VALUE",
                format!("`{text}` is not one of the values of {name}"),
            );
        }
        let len = text.chars().count() as f64;
        if let Some(min) = shape["min"].as_f64()
            && len < min
        {
            problem("INVALID_VALUE", format!("is shorter than {min}"));
        }
        if let Some(max) = shape["max"].as_f64()
            && len > max
        {
            problem("INVALID_VALUE", format!("is longer than {max}"));
        }
        if let Some(source) = shape["pattern"].as_str() {
            match &*self.pattern(source) {
                Ok(pattern) => {
                    if !pattern.matches(text) {
                        problem(
                            "INVALID_STRING_FORMAT",
                            format!("`{text}` does not match the pattern `{source}` of {name}"),
                        );
                    }
                }
                Err(why) => panic!("the validator cannot read {name}'s pattern: {why}"),
            }
        }
    }
}
