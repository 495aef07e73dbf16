//! Field-level reading and writing of NUL-separated text messages.

use crate::wire::DecodeError;

/// TWS's `UNSET_INTEGER` (Java `Integer.MAX_VALUE`).
pub const UNSET_INTEGER: i32 = i32::MAX;
/// TWS's `UNSET_DOUBLE` (Java `Double.MAX_VALUE`) as it appears on the wire.
pub const UNSET_DOUBLE_STR: &str = "1.7976931348623157E308";

/// Upper bound on any repeated-group count in a request (legs, tag-value pairs, conditions).
const MAX_COUNT: usize = 10_000;

/// Sequential reader over the fields of one message.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    fields: Vec<&'a str>,
    pos: usize,
    msg_id: i32,
}

impl<'a> Reader<'a> {
    /// Split a frame body into fields and read the message id (field 0).
    pub fn new(frame: &'a [u8]) -> Result<Self, DecodeError> {
        if frame.is_empty() {
            return Err(DecodeError::Truncated);
        }
        let text = std::str::from_utf8(frame).map_err(|e| DecodeError::Malformed {
            msg_id: leading_id(frame).unwrap_or(-1),
            detail: format!("message is not valid UTF-8: {e}"),
        })?;
        let text = text.strip_suffix('\0').unwrap_or(text);
        let fields: Vec<&str> = text.split('\0').collect();
        let id_field = fields[0];
        if id_field.is_empty() {
            return Err(DecodeError::Truncated);
        }
        let msg_id = id_field
            .parse::<i32>()
            .map_err(|_| DecodeError::Malformed {
                msg_id: -1,
                detail: format!("message id {id_field:?} is not an integer"),
            })?;
        Ok(Self {
            fields,
            pos: 1,
            msg_id,
        })
    }

    pub fn msg_id(&self) -> i32 {
        self.msg_id
    }

    /// Number of fields not read yet.
    pub fn remaining(&self) -> usize {
        self.fields.len() - self.pos
    }

    pub fn err(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            msg_id: self.msg_id,
            detail: detail.into(),
        }
    }

    fn next(&mut self, name: &str) -> Result<&'a str, DecodeError> {
        match self.fields.get(self.pos) {
            Some(f) => {
                self.pos += 1;
                Ok(f)
            }
            None => Err(self.err(format!(
                "truncated: missing field {name} (field #{} of {})",
                self.pos,
                self.fields.len()
            ))),
        }
    }

    fn bad(&self, name: &str, kind: &str, value: &str) -> DecodeError {
        self.err(format!(
            "field {name} (field #{}) is not {kind}: {value:?}",
            self.pos - 1
        ))
    }

    pub fn string(&mut self, name: &str) -> Result<String, DecodeError> {
        Ok(self.next(name)?.to_string())
    }

    pub fn skip(&mut self, name: &str) -> Result<(), DecodeError> {
        self.next(name).map(|_| ())
    }

    /// An integer; empty means 0 (as TWS's decoder reads it).
    pub fn int(&mut self, name: &str) -> Result<i32, DecodeError> {
        Ok(self.opt_int(name)?.unwrap_or(0))
    }

    /// An integer; empty (the client's encoding of UNSET_INTEGER) means `None`.
    pub fn opt_int(&mut self, name: &str) -> Result<Option<i32>, DecodeError> {
        let f = self.next(name)?;
        if f.is_empty() {
            return Ok(None);
        }
        match f.parse::<i32>() {
            Ok(UNSET_INTEGER) => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(self.bad(name, "an integer", f)),
        }
    }

    /// A repeated-group count, bounded by what could still follow.
    pub fn count(&mut self, name: &str, fields_per_item: usize) -> Result<usize, DecodeError> {
        let n = self.int(name)?;
        let n = usize::try_from(n).map_err(|_| self.err(format!("{name} is negative: {n}")))?;
        if n > MAX_COUNT || n.saturating_mul(fields_per_item) > self.remaining() {
            return Err(self.err(format!(
                "truncated: {name} = {n} but only {} fields follow",
                self.remaining()
            )));
        }
        Ok(n)
    }

    /// A finite decimal number; empty means 0.
    pub fn float(&mut self, name: &str) -> Result<f64, DecodeError> {
        let f = self.next(name)?;
        if f.is_empty() {
            return Ok(0.0);
        }
        match f.parse::<f64>() {
            Ok(v) if v.is_finite() && v < f64::MAX => Ok(v),
            Ok(v) if v == f64::MAX => Ok(0.0),
            _ => Err(self.bad(name, "a number", f)),
        }
    }

    /// A decimal number; empty or UNSET_DOUBLE means `None`; "Infinite" is +inf.
    pub fn opt_float(&mut self, name: &str) -> Result<Option<f64>, DecodeError> {
        let f = self.next(name)?;
        if f.is_empty() {
            return Ok(None);
        }
        if f == "Infinite" {
            return Ok(Some(f64::INFINITY));
        }
        match f.parse::<f64>() {
            Ok(v) if v == f64::MAX => Ok(None),
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.bad(name, "a number", f)),
        }
    }

    /// A boolean: "0"/"1" (any integer, non-zero is true), "true"/"false", empty is false.
    pub fn boolean(&mut self, name: &str) -> Result<bool, DecodeError> {
        let f = self.next(name)?;
        if f.is_empty() {
            return Ok(false);
        }
        if let Ok(v) = f.parse::<i64>() {
            return Ok(v != 0);
        }
        match f.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.bad(name, "a boolean", f)),
        }
    }

    /// Require that every field was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.fields.len() {
            Ok(())
        } else {
            Err(self.err(format!(
                "{} unexpected trailing field(s) after field #{}",
                self.fields.len() - self.pos,
                self.pos - 1
            )))
        }
    }
}

fn leading_id(frame: &[u8]) -> Option<i32> {
    let end = frame.iter().position(|&b| b == 0).unwrap_or(frame.len());
    std::str::from_utf8(&frame[..end]).ok()?.parse().ok()
}

/// Appends NUL-terminated fields to a frame body.
pub(crate) struct W<'a>(pub &'a mut Vec<u8>);

impl W<'_> {
    /// A string field (embedded NULs are dropped: they would break framing).
    pub fn s(&mut self, v: &str) -> &mut Self {
        self.0.extend(v.bytes().filter(|&b| b != 0));
        self.0.push(0);
        self
    }

    /// An integer field.
    pub fn i(&mut self, v: impl Into<i64>) -> &mut Self {
        let v: i64 = v.into();
        self.s(&v.to_string())
    }

    /// An optional integer; `None` is sent as an empty field.
    pub fn ie(&mut self, v: Option<i32>) -> &mut Self {
        match v {
            Some(v) => self.i(v),
            None => self.s(""),
        }
    }

    /// A boolean field ("1"/"0").
    pub fn b(&mut self, v: bool) -> &mut Self {
        self.s(if v { "1" } else { "0" })
    }

    /// A double, formatted like Java's `Double.toString` for the usual ranges ("100.0", "0.01").
    pub fn f(&mut self, v: f64) -> &mut Self {
        self.s(&fmt_double(v))
    }

    /// An optional double; `None` is sent as UNSET_DOUBLE.
    pub fn fo(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.f(v),
            None => self.s(UNSET_DOUBLE_STR),
        }
    }

    /// An optional double; `None` is sent as an empty field.
    pub fn fe(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.f(v),
            None => self.s(""),
        }
    }

    /// A decimal quantity (sizes, positions): "100", "0.5".
    pub fn d(&mut self, v: f64) -> &mut Self {
        self.s(&fmt_decimal(v))
    }

    /// Several empty fields.
    pub fn empty(&mut self, n: usize) -> &mut Self {
        for _ in 0..n {
            self.0.push(0);
        }
        self
    }
}

/// Java-like double formatting: integral values keep one decimal ("0.0", "150.0"), the rest use
/// the shortest round-trip representation; UNSET_DOUBLE is TWS's literal.
pub(crate) fn fmt_double(v: f64) -> String {
    if v == f64::MAX {
        return UNSET_DOUBLE_STR.to_string();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let v = if v == 0.0 { 0.0 } else { v };
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else if v.abs() < 1e15 {
        format!("{v}")
    } else {
        format!("{v:?}")
    }
}

/// Decimal formatting of sizes: no trailing ".0" for whole numbers.
pub(crate) fn fmt_decimal(v: f64) -> String {
    if !v.is_finite() || v == f64::MAX {
        return String::new();
    }
    let v = if v == 0.0 { 0.0 } else { v };
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
