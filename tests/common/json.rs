//! iperf3's `--json` output: a small JSON reader (no dependency) and the numbers taken from it.

/// The numbers of an iperf3 `--json` run.
#[derive(Clone, Debug, Default)]
pub struct IperfResult {
    /// Bytes the client sent and the server received.
    pub sent_bytes: u64,
    pub received_bytes: u64,
    /// Receiver throughput (TCP) or the sender's rate (UDP).
    pub bits_per_second: f64,
    pub retransmits: u64,
    /// UDP only.
    pub lost_percent: Option<f64>,
}

/// Parses the output of `iperf3 -c ... --json`.
pub fn parse_iperf3(text: &str) -> Result<IperfResult, String> {
    let json = Json::parse(text).map_err(|e| format!("iperf3 output is not JSON ({e}): {text}"))?;
    if let Some(Json::Str(err)) = json.get("error") {
        return Err(format!("iperf3: {err}"));
    }
    let end = json.get("end").ok_or("iperf3 JSON without \"end\"")?;
    let num = |v: Option<&Json>| v.and_then(Json::as_f64);
    let udp = json
        .get("start")
        .and_then(|s| s.get("test_start"))
        .and_then(|t| t.get("protocol"))
        == Some(&Json::Str("UDP".into()));
    if udp {
        // iperf3 >= 3.11 has sum_received with the receiver's loss; older ones only sum.
        let sum = end
            .get("sum_received")
            .or_else(|| end.get("sum"))
            .ok_or("UDP iperf3 JSON without sum")?;
        let sent = end.get("sum_sent").unwrap_or(sum);
        let bytes = num(sent.get("bytes")).unwrap_or(0.0) as u64;
        let packets = num(sum.get("packets")).unwrap_or(0.0);
        let lost_packets = num(sum.get("lost_packets")).unwrap_or(0.0);
        let received = if packets > 0.0 {
            (bytes as f64 * (packets - lost_packets) / packets) as u64
        } else {
            0
        };
        return Ok(IperfResult {
            sent_bytes: bytes,
            received_bytes: received,
            bits_per_second: num(sum.get("bits_per_second")).unwrap_or(0.0),
            retransmits: 0,
            lost_percent: num(sum.get("lost_percent")),
        });
    }
    let sent = end
        .get("sum_sent")
        .ok_or("TCP iperf3 JSON without sum_sent")?;
    let recv = end
        .get("sum_received")
        .ok_or("TCP iperf3 JSON without sum_received")?;
    Ok(IperfResult {
        sent_bytes: num(sent.get("bytes")).unwrap_or(0.0) as u64,
        received_bytes: num(recv.get("bytes")).unwrap_or(0.0) as u64,
        bits_per_second: num(recv.get("bits_per_second")).unwrap_or(0.0),
        retransmits: num(sent.get("retransmits")).unwrap_or(0.0) as u64,
        lost_percent: None,
    })
}

/// A small JSON value, enough to read iperf3's output without a dependency.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            b: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(format!("expected {lit} at byte {}", self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.b.get(self.i) {
            None => Err("unexpected end".into()),
            Some(b'{') => {
                self.i += 1;
                let mut kv = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.eat(":")?;
                    let v = self.value()?;
                    kv.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(kv));
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(_) => {
                let start = self.i;
                while self.i < self.b.len() && b"+-0123456789.eE".contains(&self.b[self.i]) {
                    self.i += 1;
                }
                let s = std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
                s.parse()
                    .map(Json::Num)
                    .map_err(|_| format!("bad value at byte {start}"))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat("\"")?;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4).ok_or("short \\u escape")?;
                            self.i += 4;
                            let code = u32::from_str_radix(
                                std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                16,
                            )
                            .map_err(|e| e.to_string())?;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}
