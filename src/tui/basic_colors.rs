//! The console's 16 colours as the basic SGR codes every colour terminal
//! knows. crossterm writes even `Color::Red` as a 256-colour code
//! (`ESC[38;5;9m`), which a terminal of fewer colours shows wrongly or not
//! at all; the theme uses only the 16 named colours, so this writer
//! rewrites those codes on their way out (`ESC[91m`). Everything else
//! passes through untouched.

use std::io::{self, Write};

/// Wraps the terminal's writer.
pub struct BasicColors<W: Write> {
    inner: W,
    /// An escape sequence being received (crossterm writes one in pieces).
    pending: Vec<u8>,
}

impl<W: Write> BasicColors<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    fn take(&mut self, b: u8) -> io::Result<()> {
        if self.pending.is_empty() {
            if b == 0x1b {
                self.pending.push(b);
                return Ok(());
            }
            return self.inner.write_all(&[b]);
        }
        self.pending.push(b);
        let p = &self.pending;
        let done = match p.len() {
            // Only CSI sequences (`ESC [`) are looked into.
            2 => p[1] != b'[',
            _ => (0x40..=0x7e).contains(&b),
        };
        if done || p.len() > 64 {
            let seq = std::mem::take(&mut self.pending);
            let out = if seq.len() > 2 && b == b'm' {
                rewrite(&seq[2..seq.len() - 1])
            } else {
                seq
            };
            self.inner.write_all(&out)?;
        }
        Ok(())
    }
}

impl<W: Write> Write for BasicColors<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            self.take(b)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `ESC[` + the parameters of one SGR sequence, with `38;5;N` and `48;5;N`
/// for N < 16 as basic codes, + `m`.
fn rewrite(params: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(params);
    let parts: Vec<&str> = text.split(';').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let basic = match (parts[i], parts.get(i + 1), parts.get(i + 2)) {
            (layer @ ("38" | "48"), Some(&"5"), Some(n)) => n
                .parse::<u8>()
                .ok()
                .filter(|n| *n < 16)
                .map(|n| basic_code(layer == "48", n)),
            _ => None,
        };
        match basic {
            Some(code) => {
                out.push(code.to_string());
                i += 3;
            }
            None => {
                out.push(parts[i].to_string());
                i += 1;
            }
        }
    }
    format!("\x1b[{}m", out.join(";")).into_bytes()
}

/// 30-37 / 90-97 (foreground), 40-47 / 100-107 (background).
fn basic_code(background: bool, n: u8) -> u16 {
    let base = if n < 8 { 30 } else { 90 };
    u16::from(n % 8) + base + if background { 10 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&str]) -> String {
        let mut w = BasicColors::new(Vec::new());
        for p in pieces {
            w.write_all(p.as_bytes()).unwrap();
        }
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn named_colours_become_basic_codes_even_when_written_in_pieces() {
        assert_eq!(through(&["\x1b[38;5;9m"]), "\x1b[91m");
        assert_eq!(through(&["\x1b[", "38;5;1", "m", "x"]), "\x1b[31mx");
        assert_eq!(through(&["\x1b[38;5;14;48;5;4m"]), "\x1b[96;44m");
        // Other sequences and 256-colour values beyond 16 pass unchanged.
        assert_eq!(through(&["\x1b[2J\x1b[1;1H"]), "\x1b[2J\x1b[1;1H");
        assert_eq!(through(&["\x1b[38;5;200m"]), "\x1b[38;5;200m");
        assert_eq!(through(&["a·b\x1b]52;c;eA==\x07"]), "a·b\x1b]52;c;eA==\x07");
    }
}
