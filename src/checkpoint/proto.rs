//! The few protocol-buffer messages of CRIU's RPC (criu-rpc.proto) that
//! berth sends and reads, encoded by hand: varints, strings and nested
//! messages are all the wire format they need.

/// A message being encoded: fields appended in any order.
#[derive(Default, Clone)]
pub struct Msg(Vec<u8>);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Msg {
    fn key(&mut self, field: u32, wire: u8) {
        varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
    }
    pub fn uint(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, 0);
        varint(&mut self.0, v);
        self
    }
    /// int32: negative values take ten bytes, as protobuf says.
    pub fn int(&mut self, field: u32, v: i32) -> &mut Self {
        self.uint(field, i64::from(v) as u64)
    }
    pub fn bool(&mut self, field: u32, v: bool) -> &mut Self {
        self.uint(field, u64::from(v))
    }
    pub fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        varint(&mut self.0, v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    pub fn str(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }
    pub fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
    /// The fields of `other` after these (protobuf merges them).
    pub fn append(&mut self, other: Msg) {
        self.0.extend(other.0);
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// One field of a decoded message.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

/// The fields of an encoded message, in order (fixed32/64 are skipped:
/// CRIU's replies have none).
pub fn fields(mut b: &[u8]) -> Option<Vec<(u32, Value<'_>)>> {
    fn read_varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = read_varint(&mut b)?;
        let field = (key >> 3) as u32;
        match key & 7 {
            0 => out.push((field, Value::Int(read_varint(&mut b)?))),
            1 => b = b.get(8..)?,
            2 => {
                let n = read_varint(&mut b)? as usize;
                let v = b.get(..n)?;
                b = &b[n..];
                out.push((field, Value::Bytes(v)));
            }
            5 => b = b.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

/// The last value of `field` as an integer, or a nested message, or text.
pub fn int_of(f: &[(u32, Value)], field: u32) -> Option<u64> {
    f.iter().rev().find_map(|(n, v)| match v {
        Value::Int(i) if *n == field => Some(*i),
        _ => None,
    })
}

pub fn bytes_of<'a>(f: &[(u32, Value<'a>)], field: u32) -> Option<&'a [u8]> {
    f.iter().rev().find_map(|(n, v)| match v {
        Value::Bytes(b) if *n == field => Some(*b),
        _ => None,
    })
}

pub fn str_of(f: &[(u32, Value)], field: u32) -> Option<String> {
    bytes_of(f, field).map(|b| String::from_utf8_lossy(b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut inner = Msg::default();
        inner.str(1, "key").int(2, -1);
        let mut m = Msg::default();
        m.uint(1, 300).bool(3, true).msg(4, &inner).str(5, "x");
        let bytes = m.into_bytes();
        // 300 = 0xac 0x02
        assert_eq!(&bytes[..3], &[0x08, 0xac, 0x02]);
        let f = fields(&bytes).unwrap();
        assert_eq!(int_of(&f, 1), Some(300));
        assert_eq!(int_of(&f, 3), Some(1));
        assert_eq!(str_of(&f, 5).as_deref(), Some("x"));
        let g = fields(bytes_of(&f, 4).unwrap()).unwrap();
        assert_eq!(str_of(&g, 1).as_deref(), Some("key"));
        assert_eq!(int_of(&g, 2).map(|v| v as i64 as i32), Some(-1));
    }

    #[test]
    fn truncated_input_is_refused() {
        assert!(fields(&[0x0a, 0x05, b'a']).is_none());
        assert!(fields(&[0x08]).is_none());
    }
}
