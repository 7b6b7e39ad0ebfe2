//! Reading JSON request bodies with errors that name the parameter and never repeat what
//! was sent (a body may hold a card number).
//!
//! Bodies are read into a `serde_json::Value` and fields taken out one by one, so that a
//! wrong type gets the parameter's name (`amount`), which serde's own messages cannot give
//! without quoting the value.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use payrail_domain::Problem;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{ApiError, AppState};

/// A JSON object body (an empty body counts as `{}`).
pub(crate) struct JsonObject(pub Fields);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<JsonObject, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            let problem = if rejection.status().as_u16() == 413 {
                Problem::invalid_request("body_too_large", "the request body is larger than the server accepts")
                    .with_status(413)
            } else {
                Problem::invalid_request("body_unreadable", "the request body could not be read")
            };
            ApiError(problem)
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Fields { map: Map::new(), prefix: None }));
        }
        if !is_json {
            return Err(Problem::invalid_request("content_type_unsupported", "send the body as application/json")
                .with_status(415)
                .into());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(Fields { map, prefix: None })),
            Ok(_) => Err(Problem::invalid_request("body_malformed", "the request body must be a JSON object").into()),
            Err(_) => Err(Problem::invalid_request("body_malformed", "the request body is not valid JSON").into()),
        }
    }
}

/// The fields of a JSON object, taken out one at a time. Nested objects know their path,
/// so errors name `payment_method[card][number]`.
pub(crate) struct Fields {
    map: Map<String, Value>,
    prefix: Option<String>,
}

impl Fields {
    fn param(&self, key: &str) -> String {
        match &self.prefix {
            None => key.to_owned(),
            Some(prefix) => format!("{prefix}[{key}]"),
        }
    }

    /// Refuses any field not in `known`, naming it.
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), Problem> {
        match self.map.keys().find(|key| !known.contains(&key.as_str())) {
            None => Ok(()),
            Some(key) => {
                let name: String = key.chars().take(64).collect();
                let message = "the request has a parameter this endpoint does not take";
                Err(Problem::invalid_request("parameter_unknown", message).with_param(self.param(&name)))
            }
        }
    }

    fn present(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, Problem> {
        self.present(key).map(|value| value.as_i64().ok_or_else(|| self.wrong_type(key, "an integer"))).transpose()
    }

    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, Problem> {
        let text = |value: &Value| value.as_str().map(str::to_owned).ok_or_else(|| self.wrong_type(key, "a string"));
        self.present(key).map(text).transpose()
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, Problem> {
        self.present(key).map(|value| value.as_bool().ok_or_else(|| self.wrong_type(key, "true or false"))).transpose()
    }

    pub(crate) fn object(&self, key: &str) -> Result<Option<Fields>, Problem> {
        let nested = |value: &Value| {
            let map = value.as_object().cloned().ok_or_else(|| self.wrong_type(key, "an object"))?;
            Ok(Fields { map, prefix: Some(self.param(key)) })
        };
        self.present(key).map(nested).transpose()
    }

    /// An array of strings (`enabled_events`), at most `items_max` of them.
    pub(crate) fn string_list(&self, key: &str, items_max: usize) -> Result<Option<Vec<String>>, Problem> {
        let list = |value: &Value| {
            let items = value.as_array().filter(|items| items.len() <= items_max);
            let items = items.ok_or_else(|| self.wrong_type(key, "an array of strings"))?;
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| self.wrong_type(key, "an array of strings")))
                .collect()
        };
        self.present(key).map(list).transpose()
    }

    /// An object whose values are all strings (`metadata`).
    pub(crate) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, Problem> {
        let Some(fields) = self.object(key)? else { return Ok(BTreeMap::new()) };
        let entry = |(name, value): (String, Value)| match value {
            Value::String(text) => Ok((name, text)),
            _ => Err(self.wrong_type(key, "an object of strings")),
        };
        fields.map.into_iter().map(entry).collect()
    }

    /// The value of a field that must be present.
    pub(crate) fn require<T>(&self, key: &str, value: Option<T>) -> Result<T, Problem> {
        value.ok_or_else(|| {
            let param = self.param(key);
            Problem::invalid_request("parameter_missing", format!("{param} is required")).with_param(param)
        })
    }

    fn wrong_type(&self, key: &str, expected: &str) -> Problem {
        let param = self.param(key);
        Problem::invalid_request("parameter_invalid", format!("{param} must be {expected}")).with_param(param)
    }
}
