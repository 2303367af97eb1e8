//! `org.systemd.property.NAME` annotations: extra unit properties, each
//! value in GVariant's text form as runc reads it: `true`/`false`, an
//! integer (optionally typed: `uint64 5`, `@t 5`, `int32 -1`, `@i -1`), a
//! double, a quoted string, or a list of quoted strings. A NAME ending in
//! a lowercase letter and `Sec` takes seconds and becomes `NAMEUSec`.

use std::collections::HashMap;

use super::props::{Property, Value};
use crate::error::{Error, Result};

pub const PREFIX: &str = "org.systemd.property.";

/// Every property annotation, in key order; the first malformed one is an
/// error naming it.
pub fn properties(annotations: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut keys: Vec<&String> = annotations
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            property(&k[PREFIX.len()..], &annotations[k]).map_err(|why| {
                Error::InvalidConfig(format!(
                    "config.json: annotations: {k}={:?}: {why}",
                    annotations[k]
                ))
            })
        })
        .collect()
}

fn property(name: &str, text: &str) -> std::result::Result<Property, String> {
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_uppercase())
        || !chars.all(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "{name:?} is not a unit property name (a capital letter, then letters and digits)"
        ));
    }
    // Where the unit goes and what it holds are berth's: the directories
    // it makes and joins follow from them.
    if ["Slice", "Wants", "PIDs", "Delegate"].contains(&name) {
        return Err(format!(
            "{name} is set by berth (from linux.cgroupsPath and the container), not by annotation"
        ));
    }
    let value = parse(text.trim(), name)?;
    // NAMESec (seconds) is systemd's NAMEUSec (microseconds).
    if let Some(stem) = name.strip_suffix("Sec") {
        if stem.ends_with(|c: char| c.is_ascii_lowercase()) {
            let usec = match value {
                Value::U64(s) => s.checked_mul(1_000_000),
                Value::I32(s) if s >= 0 => Some(s as u64 * 1_000_000),
                Value::I64(s) if s >= 0 => (s as u64).checked_mul(1_000_000),
                Value::U32(s) => Some(u64::from(s) * 1_000_000),
                Value::Double(s) if s >= 0.0 && s.is_finite() => Some((s * 1e6).round() as u64),
                _ => None,
            }
            .ok_or("a duration in seconds must be a non-negative number")?;
            return Ok((format!("{stem}USec"), Value::U64(usec)));
        }
    }
    Ok((name.to_string(), value))
}

/// One GVariant text value. An untyped integer is `t` (uint64, what most
/// numeric unit properties are), or `i` for signal numbers and negative
/// values.
fn parse(text: &str, name: &str) -> std::result::Result<Value, String> {
    if text == "true" {
        return Ok(Value::Bool(true));
    }
    if text == "false" {
        return Ok(Value::Bool(false));
    }
    if text.starts_with('\'') || text.starts_with('"') {
        return string(text).map(Value::Str);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return list(inner).map(Value::Strs);
    }
    let typed = |ty: &str, rest: &str| -> std::result::Result<Value, String> {
        let rest = rest.trim();
        let bad = |_: std::num::ParseIntError| format!("{rest:?} is not a valid {ty}");
        Ok(match ty {
            "uint64" | "@t" => Value::U64(rest.parse().map_err(bad)?),
            "uint32" | "@u" => Value::U32(rest.parse().map_err(bad)?),
            "int64" | "@x" => Value::I64(rest.parse().map_err(bad)?),
            "int32" | "@i" => Value::I32(rest.parse().map_err(bad)?),
            "double" | "@d" => Value::Double(
                rest.parse()
                    .map_err(|_| format!("{rest:?} is not a valid {ty}"))?,
            ),
            "boolean" | "@b" => match rest {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(format!("{rest:?} is not a boolean")),
            },
            "string" | "@s" => Value::Str(string(rest)?),
            _ => return Err(format!("unknown type {ty:?}")),
        })
    };
    if let Some((ty, rest)) = text.split_once(char::is_whitespace) {
        return typed(ty, rest);
    }
    if let Ok(n) = text.parse::<u64>() {
        if name.ends_with("Signal") {
            return i32::try_from(n)
                .map(Value::I32)
                .map_err(|_| format!("{n} is not a signal number"));
        }
        return Ok(Value::U64(n));
    }
    if let Ok(n) = text.parse::<i32>() {
        return Ok(Value::I32(n));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::I64(n));
    }
    if text.contains('.') {
        if let Ok(d) = text.parse::<f64>() {
            return Ok(Value::Double(d));
        }
    }
    Err("not a value (true/false, a number, a quoted string, or a list of quoted strings)".into())
}

/// A quoted string with backslash escapes.
fn string(text: &str) -> std::result::Result<String, String> {
    let q = text.chars().next().filter(|c| *c == '\'' || *c == '"');
    let Some(q) = q else {
        return Err(format!("{text:?} is not a quoted string"));
    };
    let mut out = String::new();
    let mut it = text[1..].chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.push(it.next().ok_or("a string ends in a backslash")?),
            c if c == q => {
                return if it.as_str().trim().is_empty() {
                    Ok(out)
                } else {
                    Err(format!("{text:?} has text after its closing quote"))
                };
            }
            c => out.push(c),
        }
    }
    Err(format!("{text:?} has no closing quote"))
}

/// `'a', 'b'`: a list of quoted strings.
fn list(inner: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let q = rest.chars().next().unwrap_or('\'');
        if q != '\'' && q != '"' {
            return Err("a list holds quoted strings only".into());
        }
        let end = rest[1..]
            .find(q)
            .ok_or("a string in the list has no closing quote")?
            + 1;
        out.push(string(&rest[..=end])?);
        rest = rest[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> Result<Vec<Property>> {
        properties(&HashMap::from([(format!("{PREFIX}{k}"), v.to_string())]))
    }

    #[test]
    fn kinds_runc_accepts() {
        assert_eq!(
            one("CPUAccounting", "true").unwrap(),
            vec![("CPUAccounting".into(), Value::Bool(true))]
        );
        assert_eq!(one("TasksMax", "uint64 42").unwrap()[0].1, Value::U64(42));
        assert_eq!(one("TasksMax", "42").unwrap()[0].1, Value::U64(42));
        assert_eq!(one("KillSignal", "9").unwrap()[0].1, Value::I32(9));
        assert_eq!(
            one("Description", "'a \\'b\\''").unwrap()[0].1,
            Value::Str("a 'b'".into())
        );
        assert_eq!(
            one("RuntimeMaxUSec", "@t 5000000").unwrap()[0],
            ("RuntimeMaxUSec".into(), Value::U64(5_000_000))
        );
        assert_eq!(
            one("After", "['a.service', \"b.service\"]").unwrap()[0].1,
            Value::Strs(vec!["a.service".into(), "b.service".into()])
        );
    }

    #[test]
    fn seconds_become_usec() {
        assert_eq!(
            one("TimeoutStopSec", "5").unwrap()[0],
            ("TimeoutStopUSec".into(), Value::U64(5_000_000))
        );
        assert_eq!(
            one("RuntimeMaxSec", "1.5").unwrap()[0],
            ("RuntimeMaxUSec".into(), Value::U64(1_500_000))
        );
        assert!(one("TimeoutStopSec", "'x'").is_err());
    }

    #[test]
    fn malformed_names_the_annotation() {
        for (k, v) in [
            ("TasksMax", "lots"),
            ("lower", "true"),
            ("Bad-Name", "true"),
            ("X", "'unterminated"),
            ("X", "uint64 -1"),
            ("X", "@q 1"),
            ("Slice", "'other.slice'"),
            ("PIDs", "[]"),
        ] {
            let e = one(k, v).unwrap_err().to_string();
            assert!(e.contains(&format!("{PREFIX}{k}")), "{k}={v}: {e}");
        }
        assert!(properties(&HashMap::from([("other".into(), "x".into())]))
            .unwrap()
            .is_empty());
    }
}
