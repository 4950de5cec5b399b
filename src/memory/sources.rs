//! Where the memory figures come from on Linux, each read from its file and parsed from a string
//! (so the parsing is tested without depending on the machine):
//!
//! - the process's resident set size, from `/proc/self/statm` (one short line, cheap to read);
//! - the cgroup's memory limit, from cgroup v2 `/sys/fs/cgroup/memory.max` or cgroup v1
//!   `/sys/fs/cgroup/memory/memory.limit_in_bytes` (`max`, or v1's huge "unlimited" value,
//!   mean no limit);
//! - the machine's RAM, `MemTotal` in `/proc/meminfo`.
//!
//! Nothing here fails: a file that is missing or unreadable (not Linux, no cgroup) is `None`.

/// Page size of the `statm` counts; 4096 on every Linux weir targets (as
/// `process_resident_memory_bytes`).
const PAGE: u64 = 4096;

/// A cgroup limit at or above this is "no limit" (cgroup v1 writes `0x7FFFFFFFFFFFF000` or
/// similar page-rounded values of `i64::MAX` when none is set).
const UNLIMITED_FROM: u64 = 1 << 62;

const STATM: &str = "/proc/self/statm";
const CGROUP_V2_MAX: &str = "/sys/fs/cgroup/memory.max";
const CGROUP_V1_LIMIT: &str = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
const MEMINFO: &str = "/proc/meminfo";

/// The process's resident set size in bytes, now.
pub fn resident_bytes() -> Option<u64> {
    parse_statm(&std::fs::read_to_string(STATM).ok()?)
}

/// The memory `limit_percentage` is taken of: the cgroup's limit when there is one (and it is
/// below the machine's RAM), else the machine's RAM.
pub fn total_bytes() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cgroup = read(CGROUP_V2_MAX)
        .or_else(|| read(CGROUP_V1_LIMIT))
        .and_then(|t| parse_cgroup_limit(&t));
    let ram = read(MEMINFO).and_then(|t| parse_meminfo_total(&t));
    choose_total(cgroup, ram)
}

/// Resident bytes from the text of `/proc/<pid>/statm`: its second field, in pages.
pub fn parse_statm(text: &str) -> Option<u64> {
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(PAGE)
}

/// A cgroup memory limit in bytes, `None` for "no limit" (`max`, a huge value) or bad text.
pub fn parse_cgroup_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|&n| n > 0 && n < UNLIMITED_FROM)
}

/// `MemTotal` of `/proc/meminfo` in bytes (the file says kB, meaning KiB).
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// The cgroup limit when it is below RAM (a limit above RAM binds nothing), else RAM.
pub fn choose_total(cgroup: Option<u64>, ram: Option<u64>) -> Option<u64> {
    match (cgroup, ram) {
        (Some(c), Some(r)) => Some(c.min(r)),
        (c, r) => c.or(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_gives_resident_pages_in_bytes() {
        assert_eq!(parse_statm("5432 1234 456 12 0 789 0\n"), Some(1234 * 4096));
        assert_eq!(parse_statm("5432"), None);
        assert_eq!(parse_statm(""), None);
        assert_eq!(parse_statm("1 x 3"), None);
    }

    #[test]
    fn cgroup_limits_read_max_and_huge_values_as_none() {
        assert_eq!(parse_cgroup_limit("536870912\n"), Some(512 << 20));
        assert_eq!(parse_cgroup_limit("max\n"), None);
        assert_eq!(
            parse_cgroup_limit("9223372036854771712\n"),
            None,
            "v1 unlimited"
        );
        assert_eq!(parse_cgroup_limit("0"), None);
        assert_eq!(parse_cgroup_limit("lots"), None);
    }

    #[test]
    fn meminfo_total_is_in_kib() {
        let text = "MemTotal:       24684304 kB\nMemFree:        15073340 kB\n";
        assert_eq!(parse_meminfo_total(text), Some(24_684_304 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn the_cgroup_limit_counts_only_below_ram() {
        let gib = 1u64 << 30;
        assert_eq!(choose_total(Some(gib), Some(8 * gib)), Some(gib));
        assert_eq!(choose_total(Some(16 * gib), Some(8 * gib)), Some(8 * gib));
        assert_eq!(choose_total(None, Some(8 * gib)), Some(8 * gib));
        assert_eq!(choose_total(Some(gib), None), Some(gib));
        assert_eq!(choose_total(None, None), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
