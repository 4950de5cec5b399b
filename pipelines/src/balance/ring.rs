//! Rendezvous (highest random weight) hashing over a set of endpoints.
//!
//! A key goes to the endpoint whose mixed hash with the key scores highest. Adding an endpoint
//! moves only the keys it now wins (about 1/n of them); removing one moves only the keys it
//! held, each to its second choice. The hash is FNV-1a with a fixed mixing step, written out
//! here, so every weir replica and version sends a key to the same endpoint. Nothing fails.

/// A 64-bit FNV-1a hasher: stable across processes, platforms and versions.
#[derive(Debug, Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    /// Feeds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Feeds `bytes` and a separator, so that `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(&mut self, bytes: &[u8]) {
        self.write(bytes);
        self.write(&[0xff]);
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of `bytes` alone.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = StableHasher::default();
    h.write(bytes);
    h.finish()
}

/// splitmix64's finaliser: spreads the bits of a combined key/endpoint hash.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The endpoints a key can go to, by name.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    seeds: Vec<u64>,
}

impl Ring {
    /// A ring over `names`; an endpoint's place depends only on its name.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            seeds: names
                .into_iter()
                .map(|n| hash_bytes(n.as_bytes()))
                .collect(),
        }
    }

    /// Endpoints in the ring.
    pub fn len(&self) -> usize {
        self.seeds.len()
    }

    /// True when there is no endpoint.
    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    /// The index of the endpoint `key` goes to, among those `usable` allows; `None` when it
    /// allows none.
    pub fn pick(&self, key: u64, usable: impl Fn(usize) -> bool) -> Option<usize> {
        self.seeds
            .iter()
            .enumerate()
            .filter(|(i, _)| usable(*i))
            .max_by_key(|(_, seed)| mix(key ^ **seed))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(ring: &Ring, names: &[&str], key: u64) -> String {
        let i = ring.pick(key, |_| true).expect("an endpoint");
        names[i].to_string()
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors: a change here would re-route every replica.
        assert_eq!(hash_bytes(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash_bytes(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash_bytes(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn keys_spread_over_every_endpoint() {
        let names = ["a:4317", "b:4317", "c:4317"];
        let ring = Ring::new(names);
        let mut counts = [0u32; 3];
        for k in 0..30_000u64 {
            counts[ring
                .pick(hash_bytes(&k.to_le_bytes()), |_| true)
                .expect("one")] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "uneven spread: {counts:?}");
        }
    }

    #[test]
    fn removing_an_endpoint_moves_only_its_keys() {
        let all = ["a:4317", "b:4317", "c:4317", "d:4317"];
        let fewer = ["a:4317", "b:4317", "d:4317"];
        let (big, small) = (Ring::new(all), Ring::new(fewer));
        let mut moved = 0;
        for k in 0..10_000u64 {
            let key = hash_bytes(&k.to_le_bytes());
            let before = owner(&big, &all, key);
            let after = owner(&small, &fewer, key);
            if before != "c:4317" {
                assert_eq!(before, after, "key {k} moved though its endpoint stayed");
            } else {
                moved += 1;
            }
        }
        assert!(
            (2_000..3_000).contains(&moved),
            "c held {moved} of 10000 keys"
        );
    }

    #[test]
    fn a_skipped_endpoint_hands_its_keys_to_their_second_choice() {
        let names = ["a:4317", "b:4317", "c:4317"];
        let ring = Ring::new(names);
        let without_b = Ring::new(["a:4317", "c:4317"]);
        for k in 0..2_000u64 {
            let key = hash_bytes(&k.to_le_bytes());
            let skipped = ring.pick(key, |i| i != 1).expect("one");
            assert_eq!(
                names[skipped],
                owner(&without_b, &["a:4317", "c:4317"], key)
            );
        }
        assert_eq!(ring.pick(7, |_| false), None);
    }
}
