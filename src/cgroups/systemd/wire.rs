//! The D-Bus wire format, as much of it as berth's calls to systemd use:
//! little-endian messages, the basic types, arrays, structs and variants
//! (the D-Bus specification, "Message Protocol").

use super::props::Value;

/// Message types.
pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Header field codes.
const PATH: u8 = 1;
const INTERFACE: u8 = 2;
const MEMBER: u8 = 3;
const ERROR_NAME: u8 = 4;
const REPLY_SERIAL: u8 = 5;
const DESTINATION: u8 = 6;
const SENDER: u8 = 7;
const SIGNATURE: u8 = 8;

/// A body being written; offsets count from the start of the message,
/// which is 8-aligned, so alignment here is alignment there.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn align(&mut self, n: usize) {
        while self.buf.len() % n != 0 {
            self.buf.push(0);
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bool(&mut self, v: bool) {
        self.u32(u32::from(v));
    }
    /// `s` and `o`.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    pub fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array whose elements align to `elem_align`; `f` writes them.
    pub fn array(&mut self, elem_align: usize, f: impl FnOnce(&mut Writer)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(elem_align);
        let start = self.buf.len();
        f(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
    pub fn struct_start(&mut self) {
        self.align(8);
    }
    pub fn variant(&mut self, v: &Value) {
        self.sig(&signature(v));
        self.value(v);
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.bool(*b),
            Value::I32(n) => self.u32(*n as u32),
            Value::U32(n) => self.u32(*n),
            Value::I64(n) => self.u64(*n as u64),
            Value::U64(n) => self.u64(*n),
            Value::Double(d) => self.u64(d.to_bits()),
            Value::Str(s) => self.str(s),
            Value::Strs(list) => self.array(4, |w| list.iter().for_each(|s| w.str(s))),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(b) => self.array(1, |w| w.buf.extend_from_slice(b)),
            Value::Pairs(list) => self.array(8, |w| {
                for (a, b) in list {
                    w.struct_start();
                    w.str(a);
                    w.str(b);
                }
            }),
        }
    }
}

fn signature(v: &Value) -> String {
    match v {
        Value::Bool(_) => "b",
        Value::I32(_) => "i",
        Value::U32(_) => "u",
        Value::I64(_) => "x",
        Value::U64(_) => "t",
        Value::Double(_) => "d",
        Value::Str(_) => "s",
        Value::Strs(_) => "as",
        Value::U32s(_) => "au",
        Value::Bytes(_) => "ay",
        Value::Pairs(_) => "a(ss)",
    }
    .to_string()
}

/// A method call to `dest`, numbered `serial`, with a body of `sig`.
pub struct Call<'a> {
    pub dest: &'a str,
    pub path: &'a str,
    pub iface: &'a str,
    pub member: &'a str,
    pub sig: &'a str,
}

/// The bytes of a method call whose body `body` wrote.
pub fn call(c: &Call, serial: u32, body: &Writer) -> Vec<u8> {
    let mut h = Writer::default();
    h.u8(b'l');
    h.u8(METHOD_CALL);
    h.u8(0);
    h.u8(1);
    h.u32(body.buf.len() as u32);
    h.u32(serial);
    h.array(8, |w| {
        let mut field = |code: u8, sig: &str, f: &dyn Fn(&mut Writer)| {
            w.struct_start();
            w.u8(code);
            w.sig(sig);
            f(w);
        };
        field(PATH, "o", &|w| w.str(c.path));
        field(INTERFACE, "s", &|w| w.str(c.iface));
        field(MEMBER, "s", &|w| w.str(c.member));
        field(DESTINATION, "s", &|w| w.str(c.dest));
        if !c.sig.is_empty() {
            field(SIGNATURE, "g", &|w| w.sig(c.sig));
        }
    });
    h.align(8);
    h.buf.extend_from_slice(&body.buf);
    h.buf
}

/// A received message: what berth looks at in it.
#[derive(Debug, Default)]
pub struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    /// The sending connection's unique name (set by the bus daemon).
    pub sender: Option<String>,
    pub signature: String,
    pub body: Vec<u8>,
    little: bool,
}

/// The length of a whole message from its first 16 bytes.
pub fn message_len(head: &[u8; 16]) -> Option<usize> {
    let little = match head[0] {
        b'l' => true,
        b'B' => false,
        _ => return None,
    };
    let n = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        (if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }) as usize
    };
    let body = n(&head[4..8]);
    let fields = n(&head[12..16]);
    let header = (16 + fields).div_ceil(8) * 8;
    Some(header + body)
}

pub fn parse(msg: &[u8]) -> Option<Message> {
    let mut r = Reader {
        buf: msg,
        pos: 0,
        little: msg.first()? == &b'l',
    };
    r.pos = 1;
    let kind = r.u8()?;
    r.pos = 4;
    let body_len = r.u32()? as usize;
    let _serial = r.u32()?;
    let fields_len = r.u32()? as usize;
    let end = r.pos + fields_len;
    let mut m = Message {
        kind,
        little: r.little,
        ..Message::default()
    };
    while r.pos < end {
        r.align(8);
        let code = r.u8()?;
        let sig = r.sig()?;
        match (code, sig.as_str()) {
            (REPLY_SERIAL, "u") => m.reply_serial = Some(r.u32()?),
            (MEMBER, "s") => m.member = Some(r.str()?),
            (ERROR_NAME, "s") => m.error_name = Some(r.str()?),
            (SENDER, "s") => m.sender = Some(r.str()?),
            (SIGNATURE, "g") => m.signature = r.sig()?,
            (_, "s" | "o") => {
                r.str()?;
            }
            (_, "g") => {
                r.sig()?;
            }
            (_, "u" | "i" | "b" | "h") => {
                r.u32()?;
            }
            // A field of a type berth never reads: the rest of the fields
            // cannot be found past it, but the message stays readable
            // (the spec says unknown fields are ignored).
            _ => break,
        }
    }
    r.pos = end;
    r.align(8);
    m.body = msg.get(r.pos..r.pos + body_len)?.to_vec();
    Some(m)
}

impl Message {
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            buf: &self.body,
            pos: 0,
            little: self.little,
        }
    }
}

/// Reads a body (offsets from its start: bodies start 8-aligned).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    little: bool,
}

impl Reader<'_> {
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.align(4);
        let b: [u8; 4] = self.buf.get(self.pos..self.pos + 4)?.try_into().ok()?;
        self.pos += 4;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    /// `s` and `o`.
    pub fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        let s = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n + 1;
        String::from_utf8(s.to_vec()).ok()
    }
    pub fn sig(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        let s = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n + 1;
        String::from_utf8(s.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_structs_pad_to_8_even_when_empty() {
        let mut w = Writer::default();
        w.u8(1);
        w.array(8, |_| {});
        // u8, 3 bytes of padding, a zero length, 0 bytes to 8-align.
        assert_eq!(w.buf, vec![1, 0, 0, 0, 0, 0, 0, 0]);
        let mut w = Writer::default();
        w.array(8, |w| {
            w.struct_start();
            w.str("a");
        });
        // length 6 counts from after the padding: "a" is 4+1+1 bytes.
        assert_eq!(&w.buf[..4], &6u32.to_le_bytes());
        assert_eq!(w.buf.len(), 8 + 6);
    }

    #[test]
    fn a_call_parses_back() {
        let mut body = Writer::default();
        body.str("x.scope");
        body.str("replace");
        let c = Call {
            dest: "org.freedesktop.systemd1",
            path: "/org/freedesktop/systemd1",
            iface: "org.freedesktop.systemd1.Manager",
            member: "StopUnit",
            sig: "ss",
        };
        let bytes = call(&c, 7, &body);
        let head: [u8; 16] = bytes[..16].try_into().unwrap();
        assert_eq!(message_len(&head), Some(bytes.len()));
        let m = parse(&bytes).unwrap();
        assert_eq!(m.kind, METHOD_CALL);
        assert_eq!(m.member.as_deref(), Some("StopUnit"));
        assert_eq!(m.signature, "ss");
        let mut r = m.reader();
        assert_eq!(r.str().as_deref(), Some("x.scope"));
        assert_eq!(r.str().as_deref(), Some("replace"));
    }

    #[test]
    fn variants_carry_their_signature() {
        let mut w = Writer::default();
        w.variant(&Value::U64(5));
        // sig "t" (1, 't', 0), padding to 8, then the u64.
        assert_eq!(
            w.buf,
            vec![1, b't', 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
        );
        let mut w = Writer::default();
        w.variant(&Value::Pairs(vec![("/dev/null".into(), "rw".into())]));
        assert_eq!(&w.buf[..6], &[5, b'a', b'(', b's', b's', b')']);
    }
}
