//! The field mapping: a template shaped like the Onepane entity, whose
//! leaves say where each value comes from in the vendor's record.
//!
//! - a string is a JSON pointer into the record (`/contact/email`);
//! - a number or boolean is itself;
//! - an object or list is built field by field, element by element;
//! - an object whose keys start with `$` is an operator: `$const`,
//!   `$pointer` (with `$default` and `$values`), `$text`, `$concat` (with
//!   `$separator`) and `$each` (with `$map`).
//!
//! A pointer that finds nothing (or `null`) makes its field absent. An
//! object, list or `$concat` whose pointers all found nothing is itself
//! absent, so that an optional `company` disappears when the vendor has no
//! company, rather than failing for want of its name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::pointer::{Pointer, kind, scalar_text};

/// A compiled mapping template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// The value at a pointer, as it is.
    Pointer(Pointer),
    /// A fixed value.
    Const(Value),
    /// The value at a pointer, translated through a table, with a default.
    Lookup {
        pointer: Pointer,
        default: Option<Value>,
        values: Option<BTreeMap<String, Value>>,
    },
    /// The scalar at a pointer, as text (numeric ids become strings).
    Text(Pointer),
    /// Scalars joined into one text.
    Concat {
        parts: Vec<Template>,
        separator: String,
    },
    /// A list in the record, each element mapped.
    Each {
        pointer: Pointer,
        map: Box<Template>,
    },
    /// An object built field by field.
    Object(Vec<(String, Template)>),
    /// A list built element by element.
    Array(Vec<Template>),
}

/// The operators, for messages.
const OPERATORS: &str = "$const, $pointer (with $default, $values), $text, $concat (with $separator), $each (with $map)";

impl Template {
    /// Compiles the template at `path` (for messages, such as
    /// `streams.leads.map.contact`).
    pub(crate) fn compile(value: &Value, path: &str) -> Result<Self, (String, String)> {
        let fail = |message: String| Err((path.to_owned(), message));
        match value {
            Value::String(s) => Pointer::parse(s).map(Template::Pointer).map_err(|e| {
                (
                    path.to_owned(),
                    format!("{e}; a text leaf is a pointer into the record: write `{{$const: ...}}` for a fixed text"),
                )
            }),
            Value::Number(_) | Value::Bool(_) => Ok(Template::Const(value.clone())),
            Value::Null => fail(
                "an empty value maps nothing: leave the field out, or write `{$const: null}`"
                    .to_owned(),
            ),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Template::compile(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Template::Array),
            Value::Object(fields) => {
                let operators = fields.keys().filter(|k| k.starts_with('$')).count();
                if operators == 0 {
                    return fields
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), Template::compile(v, &format!("{path}.{k}"))?)))
                        .collect::<Result<_, _>>()
                        .map(Template::Object);
                }
                if operators != fields.len() {
                    return fail(
                        "an object is either an operator (all keys start with `$`) or a field mapping (none does), not both"
                            .to_owned(),
                    );
                }
                Template::operator(fields, path)
            }
        }
    }

    fn operator(fields: &Map<String, Value>, path: &str) -> Result<Self, (String, String)> {
        let at = |key: &str| format!("{path}.{key}");
        let only = |allowed: &[&str]| -> Result<(), (String, String)> {
            match fields.keys().find(|k| !allowed.contains(&k.as_str())) {
                Some(k) => Err((
                    at(k),
                    format!(
                        "`{k}` does not go with `{}` (operators: {OPERATORS})",
                        allowed[0]
                    ),
                )),
                None => Ok(()),
            }
        };
        let pointer = |key: &str| -> Result<Pointer, (String, String)> {
            match fields.get(key) {
                Some(Value::String(s)) => Pointer::parse(s).map_err(|e| (at(key), e)),
                Some(other) => Err((
                    at(key),
                    format!("`{key}` takes a JSON pointer, not {}", kind(other)),
                )),
                None => Err((path.to_owned(), format!("`{key}` is missing"))),
            }
        };
        if let Some(value) = fields.get("$const") {
            only(&["$const"])?;
            return Ok(Template::Const(value.clone()));
        }
        if fields.contains_key("$pointer") {
            only(&["$pointer", "$default", "$values"])?;
            let values = match fields.get("$values") {
                None => None,
                Some(Value::Object(table)) => {
                    Some(table.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                }
                Some(other) => {
                    return Err((
                        at("$values"),
                        format!(
                            "`$values` takes a table from the vendor's values to Onepane's, not {}",
                            kind(other)
                        ),
                    ));
                }
            };
            return Ok(Template::Lookup {
                pointer: pointer("$pointer")?,
                default: fields.get("$default").cloned(),
                values,
            });
        }
        if fields.contains_key("$text") {
            only(&["$text"])?;
            return Ok(Template::Text(pointer("$text")?));
        }
        if let Some(parts) = fields.get("$concat") {
            only(&["$concat", "$separator"])?;
            let Value::Array(parts) = parts else {
                return Err((
                    at("$concat"),
                    format!("`$concat` takes a list of parts, not {}", kind(parts)),
                ));
            };
            let separator = match fields.get("$separator") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err((
                        at("$separator"),
                        format!("`$separator` takes a text, not {}", kind(other)),
                    ));
                }
            };
            let parts = parts
                .iter()
                .enumerate()
                .map(|(i, part)| Template::compile(part, &format!("{path}.$concat[{i}]")))
                .collect::<Result<_, _>>()?;
            return Ok(Template::Concat { parts, separator });
        }
        if fields.contains_key("$each") {
            only(&["$each", "$map"])?;
            let Some(map) = fields.get("$map") else {
                return Err((
                    path.to_owned(),
                    "`$each` needs `$map`: the template of one element".to_owned(),
                ));
            };
            return Ok(Template::Each {
                pointer: pointer("$each")?,
                map: Box::new(Template::compile(map, &at("$map"))?),
            });
        }
        let first = fields.keys().next().map_or("", String::as_str);
        Err((
            at(first),
            format!("`{first}` is not an operator (operators: {OPERATORS})"),
        ))
    }

    /// The template of a field, by its path in the mapped object.
    pub(crate) fn field(&self, path: &[&str]) -> Option<&Template> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self {
            Template::Object(fields) => fields
                .iter()
                .find(|(name, _)| name == first)
                .and_then(|(_, t)| t.field(rest)),
            _ => None,
        }
    }

    /// Whether the value comes, at least in part, from the record.
    fn reads_record(&self) -> bool {
        match self {
            Template::Pointer(_)
            | Template::Lookup { .. }
            | Template::Text(_)
            | Template::Each { .. } => true,
            Template::Const(_) => false,
            Template::Concat { parts, .. } | Template::Array(parts) => {
                parts.iter().any(Template::reads_record)
            }
            Template::Object(fields) => fields.iter().any(|(_, t)| t.reads_record()),
        }
    }

    /// Maps `record`; `None` when the template found nothing there.
    pub(crate) fn apply(&self, record: &Value) -> Result<Option<Value>, String> {
        match self {
            Template::Pointer(pointer) => Ok(pointer.find(record).cloned()),
            Template::Const(value) => Ok(Some(value.clone())),
            Template::Lookup {
                pointer,
                default,
                values,
            } => {
                let Some(found) = pointer.find(record) else {
                    return Ok(default.clone());
                };
                let Some(table) = values else {
                    return Ok(Some(found.clone()));
                };
                let translated = scalar_text(found).and_then(|key| table.get(&key));
                match (translated, default) {
                    (Some(value), _) => Ok(Some(value.clone())),
                    (None, Some(default)) => Ok(Some(default.clone())),
                    (None, None) => Err(format!(
                        "{found} at {pointer} is not in `$values` ({})",
                        table.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            Template::Text(pointer) => match pointer.find(record) {
                None => Ok(None),
                Some(found) => scalar_text(found)
                    .map(|t| Some(Value::String(t)))
                    .ok_or_else(|| {
                        format!(
                            "{pointer} is {}, which `$text` cannot write as text",
                            kind(found)
                        )
                    }),
            },
            Template::Concat { parts, separator } => {
                let mut texts = Vec::new();
                let mut found_any = false;
                for part in parts {
                    let Some(value) = part.apply(record)? else {
                        continue;
                    };
                    found_any |= part.reads_record();
                    texts.push(scalar_text(&value).ok_or_else(|| {
                        format!(
                            "`$concat` joins texts, numbers and booleans, and a part is {}",
                            kind(&value)
                        )
                    })?);
                }
                if !found_any && self.reads_record() {
                    return Ok(None);
                }
                Ok(Some(Value::String(texts.join(separator))))
            }
            Template::Each { pointer, map } => match pointer.find(record) {
                None => Ok(None),
                Some(Value::Array(items)) => {
                    let mut mapped = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let value = map
                            .apply(item)
                            .map_err(|e| format!("{}/{i}: {e}", pointer.as_str()))?;
                        mapped.extend(value);
                    }
                    Ok(Some(Value::Array(mapped)))
                }
                Some(other) => Err(format!(
                    "{pointer} is {}; `$each` takes a list",
                    kind(other)
                )),
            },
            Template::Object(fields) => {
                let mut object = Map::new();
                let mut found_any = false;
                for (name, template) in fields {
                    if let Some(value) = template.apply(record)? {
                        found_any |= template.reads_record();
                        object.insert(name.clone(), value);
                    }
                }
                if !found_any && self.reads_record() {
                    return Ok(None);
                }
                Ok(Some(Value::Object(object)))
            }
            Template::Array(items) => {
                let mut list = Vec::new();
                let mut found_any = false;
                for template in items {
                    if let Some(value) = template.apply(record)? {
                        found_any |= template.reads_record();
                        list.push(value);
                    }
                }
                if !found_any && self.reads_record() {
                    return Ok(None);
                }
                Ok(Some(Value::Array(list)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(value: Value) -> Template {
        Template::compile(&value, "map").unwrap()
    }

    fn error(value: Value) -> (String, String) {
        Template::compile(&value, "map").unwrap_err()
    }

    #[test]
    fn leaves_are_pointers_and_missing_fields_are_absent() {
        let t = template(json!({
            "external_id": {"$text": "/id"},
            "contact": {"name": "/name", "email": "/email"},
            "company": {"name": "/org/name", "country": {"$const": "DE"}},
            "score": 3
        }));
        let mapped = t
            .apply(&json!({"id": 42, "name": "Ada", "email": null}))
            .unwrap();
        assert_eq!(
            mapped,
            Some(json!({"external_id": "42", "contact": {"name": "Ada"}, "score": 3}))
        );
    }

    #[test]
    fn lookups_translate_and_fall_back_to_the_default() {
        let t = template(
            json!({"$pointer": "/level", "$values": {"Gold": "gold", "Elite": "platinum"}, "$default": "registered"}),
        );
        assert_eq!(
            t.apply(&json!({"level": "Elite"})).unwrap(),
            Some(json!("platinum"))
        );
        assert_eq!(
            t.apply(&json!({"level": "Bronze"})).unwrap(),
            Some(json!("registered"))
        );
        assert_eq!(t.apply(&json!({})).unwrap(), Some(json!("registered")));

        let strict = template(json!({"$pointer": "/level", "$values": {"Gold": "gold"}}));
        let err = strict.apply(&json!({"level": "Bronze"})).unwrap_err();
        assert!(
            err.contains("\"Bronze\" at `/level` is not in `$values`"),
            "{err}"
        );
    }

    #[test]
    fn concat_skips_what_is_missing() {
        let t = template(json!({"$concat": ["/first", "/last"], "$separator": " "}));
        assert_eq!(
            t.apply(&json!({"first": "Ada", "last": "Lovelace"}))
                .unwrap(),
            Some(json!("Ada Lovelace"))
        );
        assert_eq!(
            t.apply(&json!({"last": "Lovelace"})).unwrap(),
            Some(json!("Lovelace"))
        );
        assert_eq!(t.apply(&json!({})).unwrap(), None);
        assert!(t.apply(&json!({"first": {"a": 1}})).is_err());
    }

    #[test]
    fn each_maps_every_element_relative_to_it() {
        let t = template(
            json!({"$each": "/discounts", "$map": {"tier": "/level", "discount": "/pct"}}),
        );
        assert_eq!(
            t.apply(&json!({"discounts": [{"level": "gold", "pct": "10"}, {"pct": "5"}]}))
                .unwrap(),
            Some(json!([{"tier": "gold", "discount": "10"}, {"discount": "5"}]))
        );
        assert_eq!(t.apply(&json!({})).unwrap(), None);
        assert!(
            t.apply(&json!({"discounts": 3}))
                .unwrap_err()
                .contains("takes a list")
        );
    }

    #[test]
    fn bad_templates_are_refused_with_their_path() {
        let (path, message) = error(json!({"contact": {"email": "email"}}));
        assert_eq!(path, "map.contact.email");
        assert!(message.contains("not a JSON pointer"), "{message}");

        let (path, message) = error(json!({"name": {"$cosnt": "x"}}));
        assert_eq!(path, "map.name.$cosnt");
        assert!(message.contains("not an operator"), "{message}");

        let (path, _) = error(json!({"name": {"$const": "x", "$default": "y"}}));
        assert_eq!(path, "map.name.$default");

        let (path, message) = error(json!({"name": {"$const": "x", "other": 1}}));
        assert_eq!(path, "map.name");
        assert!(message.contains("not both"), "{message}");

        let (path, _) = error(json!({"tags": {"$each": "/t"}}));
        assert_eq!(path, "map.tags");

        let (path, _) = error(json!({"x": null}));
        assert_eq!(path, "map.x");
    }
}
