//! A noisy neighbour: one tenant at twenty times its limit does not cost the others anything.

use super::*;

#[test]
fn a_tenant_at_twenty_times_its_limit_is_refused_and_the_others_never_are() {
    let (p, clock) = limit(
        "
records_per_second: 100
burst: 200
bytes_per_second: 100000
requests_per_second: 200
overrides:
  c: { records_per_second: 50, burst: 50 }
",
    );
    let tick = Duration::from_millis(10);
    let (mut a_admitted, mut a_refused) = (0u64, 0u64);
    // Ten seconds in 10 ms steps.
    for step in 0..1000 {
        // A: 20 records every 10 ms = 2000/s, twenty times its 100/s.
        match rate_limited(&send(&p, "a", 20, 2000)) {
            None => a_admitted += 20,
            Some(after) => {
                assert!(after > Duration::ZERO);
                a_refused += 1;
            }
        }
        // B: 1 record every 10 ms = 100/s, exactly its limit.
        let b = send(&p, "b", 1, 100);
        assert!(passed(&b), "b refused at step {step}: {b:?}");
        // C: 5 records every 100 ms = 50/s, exactly its own (override) limit.
        if step % 10 == 0 {
            let c = send(&p, "c", 5, 500);
            assert!(passed(&c), "c refused at step {step}: {c:?}");
        }
        clock.advance(tick);
    }
    assert!(a_refused > 900, "a was refused {a_refused} times of 1000");
    // A got its burst plus its rate over ten seconds, no more (and not much less).
    assert!(
        (1000..=1200).contains(&a_admitted),
        "a admitted {a_admitted} records"
    );
}
