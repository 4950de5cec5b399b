//! The numbers of a `tenant_limit` config, checked when the config is read: a rate
//! ([`PerSecond`], 1 to [`MAX_RATE`]) and a burst ([`Burst`], 1 to `u32::MAX`), the ranges
//! governor can represent, so that building a limiter from them cannot fail.
//!
//! How it fails: a number out of range fails the reading with a [`RateError`] saying the range;
//! the config loader reports it at the key, with file and line.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Deserializer, de};

/// The highest rate of any kind: governor measures time in whole nanoseconds per unit, so a
/// faster rate cannot be represented.
pub const MAX_RATE: u64 = 1_000_000_000;

/// Why a rate or a burst was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// A rate of zero.
    #[error("must be at least 1; leave the key out for no limit")]
    ZeroRate,
    /// A rate above [`MAX_RATE`].
    #[error(
        "{0} is above {MAX_RATE} per second, the fastest rate governor can measure \
         (one nanosecond per unit)"
    )]
    RateTooHigh(u64),
    /// A burst of zero.
    #[error("must be at least 1")]
    ZeroBurst,
    /// A burst above `u32::MAX`.
    #[error("{0} is above {max}, the largest burst governor keeps", max = u32::MAX)]
    BurstTooLarge(u64),
}

/// Units per second, 1 to [`MAX_RATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PerSecond(NonZeroU32);

impl PerSecond {
    /// `n` per second, when governor can measure it.
    pub fn new(n: u64) -> Result<Self, RateError> {
        if n > MAX_RATE {
            return Err(RateError::RateTooHigh(n));
        }
        // At most MAX_RATE, so it fits a u32.
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .map(Self)
            .ok_or(RateError::ZeroRate)
    }

    /// The rate.
    pub fn get(self) -> u64 {
        u64::from(self.0.get())
    }

    /// The rate as governor takes it.
    pub(super) fn nonzero(self) -> NonZeroU32 {
        self.0
    }
}

/// Units a tenant may spend at once, 1 to `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Burst(NonZeroU32);

impl Burst {
    /// A burst of `n`, when governor can keep it.
    pub fn new(n: u64) -> Result<Self, RateError> {
        let n = u32::try_from(n).map_err(|_| RateError::BurstTooLarge(n))?;
        NonZeroU32::new(n).map(Self).ok_or(RateError::ZeroBurst)
    }

    /// The burst.
    pub fn get(self) -> u64 {
        u64::from(self.0.get())
    }

    /// The burst as governor takes it.
    pub(super) fn nonzero(self) -> NonZeroU32 {
        self.0
    }
}

impl From<PerSecond> for Burst {
    /// One second at the rate.
    fn from(rate: PerSecond) -> Self {
        Self(rate.0)
    }
}

impl fmt::Display for PerSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Burst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for PerSecond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Burst {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// A resolved limit: units per second and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rate {
    /// Units per second.
    pub per_second: PerSecond,
    /// Bucket size in units.
    pub burst: Burst,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_bursts_are_what_governor_can_hold() {
        assert_eq!(PerSecond::new(0), Err(RateError::ZeroRate));
        assert_eq!(PerSecond::new(MAX_RATE).map(PerSecond::get), Ok(MAX_RATE));
        assert_eq!(
            PerSecond::new(MAX_RATE + 1),
            Err(RateError::RateTooHigh(MAX_RATE + 1))
        );
        assert_eq!(Burst::new(0), Err(RateError::ZeroBurst));
        let max = u64::from(u32::MAX);
        assert_eq!(Burst::new(max).map(Burst::get), Ok(max));
        let err = Burst::new(max + 1).expect_err("too large");
        assert!(err.to_string().contains("4294967295"), "{err}");
        let rate = PerSecond::new(7).expect("valid");
        assert_eq!(Burst::from(rate).get(), 7);
    }
}
