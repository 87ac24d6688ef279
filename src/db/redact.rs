//! Passwords never shown or logged: every database URL or connection string
//! importdesk prints (`db status`, `db url`, errors) or logs passes
//! [`connection_string`] first.
//!
//! Removed: the password of a URI's user information (everything from the
//! first `:` up to the `@` before the host, so `user:pa@ss@host` leaks
//! nothing), and
//! `password` / `sslpassword` parameters, as URI query parameters (also
//! percent-encoded names) and as `key=value` pairs of a libpq connection
//! string (quoted values included).

const SECRET_KEYS: [&str; 2] = ["password", "sslpassword"];

/// `s` without any password it carries.
pub fn connection_string(s: &str) -> String {
    match s.find("://") {
        Some(scheme_end) => uri(s, scheme_end),
        None if s.contains('=') => key_value(s),
        None => s.to_string(),
    }
}

fn is_secret_key(raw_key: &str) -> bool {
    let key = percent_decode(raw_key).to_ascii_lowercase();
    SECRET_KEYS.contains(&key.trim())
}

fn uri(s: &str, scheme_end: usize) -> String {
    let head = &s[..scheme_end + 3];
    let mut rest = s[scheme_end + 3..].to_string();
    // A password may contain '@', '/' or '?': the user information ends at
    // the last '@' before the query, else before the path, else at the last
    // '@' of all (which may redact too much, never too little).
    let before = |stop: char| rest.find(stop).and_then(|end| rest[..end].rfind('@'));
    if let Some(at) = before('?')
        .or_else(|| before('/'))
        .or_else(|| rest.rfind('@'))
    {
        let userinfo = &rest[..at];
        if let Some(colon) = userinfo.find(':') {
            rest = format!("{}{}", &userinfo[..colon], &rest[at..]);
        }
    }
    let (before_fragment, fragment) = match rest.find('#') {
        Some(i) => rest.split_at(i),
        None => (rest.as_str(), ""),
    };
    let Some(q) = before_fragment.find('?') else {
        return format!("{head}{rest}");
    };
    let kept: Vec<&str> = before_fragment[q + 1..]
        .split('&')
        .filter(|pair| !is_secret_key(pair.split('=').next().unwrap_or("")))
        .collect();
    let query = if kept.iter().all(|p| p.is_empty()) {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    format!("{head}{}{query}{fragment}", &before_fragment[..q])
}

/// libpq `key = value` pairs; values may be single-quoted with `\` escapes.
fn key_value(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        let key_end = i;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            // A word that is no pair (libpq refuses it): shown as written,
            // with the blanks after it.
            out.push_str(&key);
            i = key_end;
            continue;
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value_start = i;
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
        }
        if is_secret_key(&key) {
            // Drop the pair and the blank before the next one.
            while out.ends_with(' ') {
                out.pop();
            }
            continue;
        }
        let i_end = i.min(chars.len());
        out.push_str(&key);
        out.push('=');
        out.extend(&chars[value_start..i_end]);
    }
    out.trim().to_string()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::connection_string as redact;

    #[test]
    fn user_information_loses_its_password() {
        assert_eq!(
            redact("postgresql://bob:s3cret@db.example/x"),
            "postgresql://bob@db.example/x"
        );
        assert_eq!(redact("postgresql://bob@db/x"), "postgresql://bob@db/x");
        assert_eq!(
            redact("postgres://bob:pa@ss@db:5432/x"),
            "postgres://bob@db:5432/x"
        );
        assert_eq!(redact("postgresql://db:5432/x"), "postgresql://db:5432/x");
    }

    #[test]
    fn password_parameters_are_removed() {
        assert_eq!(
            redact("postgresql://db/x?user=bob&password=s3cret&sslmode=require"),
            "postgresql://db/x?user=bob&sslmode=require"
        );
        assert_eq!(
            redact("postgresql:///x?host=/run/pg&PassWord=a&pass%77ord=b&sslpassword=c"),
            "postgresql:///x?host=/run/pg"
        );
        assert_eq!(
            redact("postgresql://db/x?password=s#frag"),
            "postgresql://db/x#frag"
        );
    }

    #[test]
    fn key_value_strings_lose_their_password() {
        assert_eq!(
            redact("host=db password=s3cret user=bob"),
            "host=db user=bob"
        );
        assert_eq!(
            redact("host=db password = 'a b \\' c' dbname=x"),
            "host=db dbname=x"
        );
        assert_eq!(redact("password=s3cret"), "");
    }

    #[test]
    fn nothing_is_left_of_the_secret() {
        for url in [
            "postgresql://u:p%40ss@h/d",
            "postgresql://u:top@secret@h/d?password=top@secret",
            "postgresql://u:top?secret@h/d",
            "postgresql://u:top/sec?ret@h",
            "host=h password='top@secret'",
        ] {
            let shown = redact(url);
            assert!(
                !shown.contains("secret") && !shown.contains("p%40ss"),
                "{shown}"
            );
        }
    }

    /// A connection string may end right after a key's `=` (an empty
    /// value, or blanks after it): redacting it must not read past its end.
    #[test]
    fn a_string_ending_in_an_empty_value_is_redacted_to_its_end() {
        assert_eq!(redact("host=/tmp dbname="), "host=/tmp dbname=");
        assert_eq!(redact("host=/tmp dbname= "), "host=/tmp dbname=");
        assert_eq!(redact("host=/tmp password="), "host=/tmp");
        assert_eq!(redact("host=/tmp password =  "), "host=/tmp");
    }

    /// A `%` in a URI query key's first two characters is decoded like any
    /// other (`%70assword` is `password`), and one without two characters
    /// after it is kept as it is, never read past the key's end.
    #[test]
    fn a_percent_sign_at_either_end_of_a_query_key_is_read_within_the_key() {
        assert_eq!(
            redact("postgresql://db/x?%70assword=s3cret&user=bob"),
            "postgresql://db/x?user=bob"
        );
        assert_eq!(
            redact("postgresql://db/x?a%=1&bc%4=2&passwor%64=s3cret"),
            "postgresql://db/x?a%=1&bc%4=2"
        );
    }

    /// Text that is neither a URI nor `key=value` pairs (a bare database
    /// name or socket folder) has no password to remove: shown exactly as
    /// given, blanks included.
    #[test]
    fn text_that_is_neither_a_uri_nor_key_value_pairs_is_shown_as_given() {
        for s in ["shop", " /var/run/postgresql ", "my shop\t", ""] {
            assert_eq!(redact(s), s);
        }
    }

    /// A string libpq would refuse is still shown as written, less its
    /// password: a word with no `=` (last, before blanks, or before another
    /// pair) and an unterminated quote are read within the string's end.
    #[test]
    fn a_malformed_key_value_string_is_shown_as_written_without_its_password() {
        assert_eq!(redact("host=db dbname"), "host=db dbname");
        assert_eq!(redact("host=db dbname  "), "host=db dbname");
        assert_eq!(redact("password=s3cret oops user=bob"), "oops user=bob");
        assert_eq!(redact("host=db oops  user=bob"), "host=db oops  user=bob");
        assert_eq!(redact("host=db password='s3cret"), "host=db");
        assert_eq!(redact("host=db password='s3cret\\"), "host=db");
    }

    /// libpq reads `\` as an escape in unquoted values too
    /// (`password=top\ secret` is one value, `top secret`): the whole value
    /// goes, not just its first word.
    #[test]
    fn an_escaped_blank_in_an_unquoted_password_does_not_end_it() {
        assert_eq!(
            redact("host=db password=top\\ secret user=bob"),
            "host=db user=bob"
        );
        assert_eq!(redact("password=a\\\\ b=c"), "b=c");
    }
}
