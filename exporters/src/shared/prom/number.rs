//! Numbers as Prometheus' Go code writes them, so that label values such as `le="0.005"` and
//! `quantile="0.99"` are the same strings whichever path (scrape or remote write) a series took,
//! and the same as an application instrumented with a Prometheus client would expose.
//!
//! - [`write_float`]: Go's `strconv.FormatFloat(f, 'g', -1, 64)` with Prometheus' spellings of
//!   the special values (`NaN`, `+Inf`, `-Inf`): the shortest decimal that reads back as the
//!   same number, in exponent form (`1e+06`) from a million up or below 0.0001.
//! - [`plain_float`]: Go's `'f'` form (`1000000`), used for attribute values turned into label
//!   values, as the Collector's `AsString` does.
//!
//! Nothing here fails.

use std::fmt::Write as _;

/// Appends `f` as Go's `strconv.FormatFloat(f, 'g', -1, 64)` does, with `+Inf`/`-Inf`/`NaN`.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Rust's `{:e}` is the shortest round-tripping mantissa with its exponent: `1.5e-7`.
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        out.push_str(&sci);
        return;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        // Plain decimal; Rust's Display is the shortest round-tripping one without exponent.
        let _ = write!(out, "{f}");
    } else {
        out.push_str(mantissa);
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
}

/// `f` as [`write_float`] writes it.
pub fn float(f: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, f);
    s
}

/// `f` in plain decimal (Go's `'f'` with the shortest precision), `+Inf`, `-Inf` or `NaN`.
pub fn plain_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_g_shortest() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.005, "0.005"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5, "2.5"),
            (100_000.0, "100000"),
            (123_456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (1.5e-300, "1.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (f, want) in cases {
            assert_eq!(float(*f), *want, "{f:?}");
        }
    }

    #[test]
    fn plain_floats_never_use_exponents() {
        assert_eq!(plain_float(1e6), "1000000");
        assert_eq!(plain_float(0.25), "0.25");
        assert_eq!(plain_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(plain_float(f64::NAN), "NaN");
    }
}
