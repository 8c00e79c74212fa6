//! `spool perf produce` and `spool perf consume`: whole-system numbers in the
//! style of Kafka's `kafka-producer-perf-test.sh` and
//! `kafka-consumer-perf-test.sh`, with their flags and their output lines, so
//! a reader can run the same measurement against spool and against Kafka.
//!
//! ```text
//! spool perf produce --topic t --num-records 1000000 --record-size 100 --throughput -1 \
//!     --producer-props acks=1 batch.size=16384 linger.ms=5 compression.type=lz4
//! 1000000 records sent, 412371.1 records/sec (39.33 MB/sec), 41.20 ms avg latency, …
//! spool perf consume --topic t --messages 1000000
//! start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, …
//! ```
//!
//! Both print a progress line every `--reporting-interval` ms (5 s, as Kafka)
//! while they run. Numbers from these tools belong in the book's tables with
//! the command that produced them; they are never asserted by a test.

pub mod consume;
pub mod produce;

pub mod stats;

/// A wall-clock time as Kafka's perf tools print it: `yyyy-MM-dd HH:mm:ss:SSS`
/// (UTC here; Kafka uses the JVM's time zone).
pub fn format_time_ms(unix_ms: i64) -> String {
    let (days, ms_of_day) = (unix_ms.div_euclid(86_400_000), unix_ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, ms) =
        (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}:{ms:03}")
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's format, on dates whose calendar arithmetic is easy to get wrong:
    /// the epoch, a leap day, the last millisecond of a century's leap year.
    #[test]
    fn times_print_as_kafkas_perf_tools_print_them() {
        assert_eq!(format_time_ms(0), "1970-01-01 00:00:00:000");
        assert_eq!(format_time_ms(951_782_400_000), "2000-02-29 00:00:00:000");
        assert_eq!(format_time_ms(978_307_199_999), "2000-12-31 23:59:59:999");
        assert_eq!(format_time_ms(1_795_000_000_123), "2026-11-18 11:06:40:123");
        assert_eq!(format_time_ms(-1), "1969-12-31 23:59:59:999");
    }
}
