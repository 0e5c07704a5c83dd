//! The corpus generator's only source of randomness: splitmix64, seeded, so one seed always gives
//! the same bytes on every machine (the library does not depend on `rand`), plus the few random
//! strings audit logs are made of (uuids, hex digests, pod-name suffixes) and a fast clock format.

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

/// The alphabet of Kubernetes' random name suffixes (no vowels, no look-alike digits).
const SUFFIX: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const HEX: &[u8] = b"0123456789abcdef";

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c908)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift instead of `%`: unbiased enough and without a division.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// An index chosen with the given weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// An independent stream, so a story's draws do not shift the noise that follows it.
    pub fn fork(&mut self) -> Rng {
        Rng(self.next_u64())
    }

    /// A random (version 4 shaped) uuid.
    pub fn uuid(&mut self) -> String {
        let mut s = String::with_capacity(36);
        self.push_uuid(&mut s);
        s
    }

    pub fn push_uuid(&mut self, s: &mut String) {
        let a = self.next_u64();
        let b = self.next_u64();
        let bytes: [u8; 16] = {
            let mut x = [0u8; 16];
            x[..8].copy_from_slice(&a.to_le_bytes());
            x[8..].copy_from_slice(&b.to_le_bytes());
            x[6] = (x[6] & 0x0f) | 0x40;
            x[8] = (x[8] & 0x3f) | 0x80;
            x
        };
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(HEX[(byte >> 4) as usize] as char);
            s.push(HEX[(byte & 15) as usize] as char);
        }
    }

    /// `n` random lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| HEX[self.below(16) as usize] as char)
            .collect()
    }

    /// A Kubernetes-style random suffix of `n` characters (`x7k2p`).
    pub fn suffix(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| SUFFIX[self.below(SUFFIX.len() as u64) as usize] as char)
            .collect()
    }
}

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;
pub const MILLI: Micros = 1_000;

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn push_num(out: &mut String, n: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut n = n.max(0);
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = (buf.len() - width).min(i);
    out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or("0"));
}

/// Appends `2024-06-03T08:00:01` (seconds precision, no zone).
fn push_seconds(out: &mut String, us: Micros) {
    let secs = us.div_euclid(SECOND);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    push_num(out, y, 4);
    out.push('-');
    push_num(out, m.into(), 2);
    out.push('-');
    push_num(out, d.into(), 2);
    out.push('T');
    push_num(out, sod / 3600, 2);
    out.push(':');
    push_num(out, sod / 60 % 60, 2);
    out.push(':');
    push_num(out, sod % 60, 2);
}

/// Appends an audit timestamp: RFC 3339, UTC, six fractional digits (`…T08:00:01.000123Z`).
/// Hand-rolled because a 1.4 GB corpus formats two million of them.
pub fn push_time(out: &mut String, us: Micros) {
    push_seconds(out, us);
    out.push('.');
    push_num(out, us.rem_euclid(SECOND), 6);
    out.push('Z');
}

pub fn time(us: Micros) -> String {
    let mut s = String::with_capacity(27);
    push_time(&mut s, us);
    s
}

/// An object timestamp (`creationTimestamp`, `lastTransitionTime`): whole seconds.
pub fn time_secs(us: Micros) -> String {
    let mut s = String::with_capacity(20);
    push_seconds(&mut s, us);
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_ranges_hold() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
        for _ in 0..1000 {
            let r = a.range(-5, 5);
            assert!((-5..5).contains(&r));
            assert!(a.below(3) < 3);
        }
        let u = a.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(u.matches('-').count(), 4);
    }

    #[test]
    fn times_format_like_the_api_server() {
        // 2022-09-20T20:17:17.328703Z, the seed article's create.
        let us = 1_663_705_037_328_703;
        assert_eq!(time(us), "2022-09-20T20:17:17.328703Z");
        assert_eq!(time_secs(us), "2022-09-20T20:17:17Z");
        assert_eq!(time(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        for us in [0, 1_700_000_000_123_456, 4_102_444_800_000_000] {
            let want = chrono::DateTime::from_timestamp_micros(us)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(time(us), want);
        }
    }
}
