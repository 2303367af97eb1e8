//! JSON input read from users (config.json, exec's process file, update's
//! resources): errors name the field by its JSON path and give the line
//! and column, e.g. `process.user.uid at line 12 column 9: invalid type:
//! string "x", expected u32`.

use serde::de::DeserializeOwned;

/// Deserialize `raw`; the error message names the path, line and column.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| describe(&e))?;
    de.end().map_err(|e| describe_plain(&e))?;
    Ok(value)
}

fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let inner = e.inner();
    if path.is_empty() || path == "." {
        describe_plain(inner)
    } else {
        format!("{path} at {}", describe_plain(inner))
    }
}

fn describe_plain(e: &serde_json::Error) -> String {
    // serde_json's message ends with its own " at line L column C"; say it
    // once, in front.
    let msg = e.to_string();
    let msg = msg
        .rsplit_once(" at line ")
        .map_or(msg.as_str(), |(m, _)| m)
        .to_string();
    format!("line {} column {}: {msg}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Spec;

    #[test]
    fn names_the_field_and_its_place() {
        let raw = b"{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\n    \"cwd\": \"/\",\n    \"user\": {\n      \"uid\": \"root\",\n      \"gid\": 0\n    }\n  }\n}";
        let err = parse::<Spec>(raw).unwrap_err();
        assert!(
            err.starts_with("process.user.uid at line 6 column"),
            "{err}"
        );
        assert!(err.contains("expected u32"), "{err}");
        assert_eq!(err.matches("line").count(), 1, "{err}");
    }

    #[test]
    fn array_elements_are_numbered() {
        let raw = br#"{"ociVersion":"1.0.0","mounts":[{"destination":"/a"},{"destination":5}]}"#;
        let err = parse::<Spec>(raw).unwrap_err();
        assert!(err.starts_with("mounts[1].destination at line 1"), "{err}");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let err = parse::<Spec>(b"{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}").unwrap_err();
        assert!(err.contains("line 3 column 3"), "{err}");
        let err = parse::<Spec>(b"{\"ociVersion\": \"1.0.0\"} trailing").unwrap_err();
        assert!(err.contains("line 1 column"), "{err}");
    }
}
