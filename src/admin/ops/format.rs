//! How the ops page writes values: HTML escaping ([`esc`]), counts, rates, byte sizes,
//! durations and UTC times (with how long ago). Pure functions; none fails: a missing value is
//! written `–`.

use serde_json::Value;

/// `text` safe in HTML text and in quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A count, or `–` when absent.
pub fn count(v: &Value) -> String {
    v.as_u64().map_or_else(|| "–".into(), |n| n.to_string())
}

/// A per-second rate: `0/s`, `2.50/s`, `12.2/s`.
pub fn rate(v: &Value) -> String {
    let r = v.as_f64().unwrap_or(0.0);
    if r == 0.0 {
        "0/s".into()
    } else if r < 10.0 {
        format!("{r:.2}/s")
    } else {
        format!("{r:.1}/s")
    }
}

/// A byte count in B, KiB, MiB or GiB.
pub fn bytes(v: &Value) -> String {
    let n = v.as_u64().unwrap_or(0) as f64;
    match n {
        n if n >= 1_073_741_824.0 => format!("{:.1} GiB", n / 1_073_741_824.0),
        n if n >= 1_048_576.0 => format!("{:.1} MiB", n / 1_048_576.0),
        n if n >= 1024.0 => format!("{:.1} KiB", n / 1024.0),
        n => format!("{n} B"),
    }
}

/// `secs` as `1 d 2 h`, `3 h 4 min`, `5 min 6 s` or `7 s`.
pub fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// Days since 1970-01-01 as (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix seconds as `2025-01-31 23:59:59 UTC`.
pub fn utc(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let (y, mo, d) = civil(secs.div_euclid(86400));
    let t = secs.rem_euclid(86400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} UTC",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// A `<time>` for unix seconds `v`, with how long before `now` it was; `–` when absent.
pub fn when(v: &Value, now: f64) -> String {
    let Some(at) = v.as_f64() else {
        return "–".into();
    };
    let stamp = utc(at);
    let ago = span((now - at).max(0.0).round() as u64);
    format!("<time datetime=\"{stamp}\">{stamp}</time> <span class=\"ago\">({ago} ago)</span>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & o'brien"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; o&#39;brien"
        );
    }

    #[test]
    fn dates_spans_and_sizes_read_well() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.5), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599.0), "2025-12-31 23:59:59 UTC");
        assert_eq!(span(7), "7 s");
        assert_eq!(span(3_725), "1 h 2 min");
        assert_eq!(span(90_061), "1 d 1 h");
        assert_eq!(bytes(&json!(1536)), "1.5 KiB");
        assert_eq!(
            (rate(&json!(0.0)), rate(&json!(2.5)), rate(&json!(12.25))),
            ("0/s".into(), "2.50/s".into(), "12.2/s".into())
        );
        assert_eq!(count(&Value::Null), "–");
        assert!(when(&json!(90.0), 100.0).ends_with("(10 s ago)</span>"));
    }
}
