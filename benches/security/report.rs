//! The tables the security bench prints after its groups, computed from the
//! totals of every sample (not criterion's estimates): the ratios the
//! RESULTS file and chapter 11 quote.

use std::collections::BTreeMap;

use super::login::{ITERATIONS, MECHANISMS};
use super::Totals;

fn mb_s(t: &Totals) -> f64 {
    t.units as f64 / 1e6 / t.wall.as_secs_f64()
}

fn cpu_s_per_gb(t: &Totals) -> f64 {
    t.cpu.as_secs_f64() / (t.units as f64 / 1e9)
}

fn us_each(t: &Totals) -> f64 {
    t.wall.as_secs_f64() * 1e6 / t.units as f64
}

fn cpu_us_each(t: &Totals) -> f64 {
    t.cpu.as_secs_f64() * 1e6 / t.units as f64
}

/// Fetch and produce throughput and broker CPU per path, against PLAINTEXT;
/// the connection's cost per path, against PLAINTEXT.
pub fn transport(results: &BTreeMap<String, Totals>) {
    println!("\nsecurity: throughput through loopback, broker CPU from getrusage(RUSAGE_THREAD)");
    println!(
        "{:<8} {:<15} {:>8} {:>14} {:>14} {:>14}",
        "bench", "path", "MB/s", "vs PLAINTEXT", "CPU s/GB", "vs PLAINTEXT"
    );
    for (bench, paths) in
        [("fetch", &["PLAINTEXT", "PLAINTEXT-copy", "SSL"][..]), ("produce", &["PLAINTEXT", "SSL"])]
    {
        let Some(base) = results.get(&format!("{bench}/PLAINTEXT")) else { continue };
        for path in paths {
            let Some(t) = results.get(&format!("{bench}/{path}")) else { continue };
            println!(
                "{:<8} {:<15} {:>8.0} {:>13.2}x {:>14.3} {:>13.2}x",
                bench,
                path,
                mb_s(t),
                mb_s(t) / mb_s(base),
                cpu_s_per_gb(t),
                cpu_s_per_gb(t) / cpu_s_per_gb(base),
            );
        }
    }
    let (Some(plain), Some(ssl)) = (results.get("connect/PLAINTEXT"), results.get("connect/SSL")) else {
        return;
    };
    println!("\nsecurity: a new connection (connect, handshake, ApiVersions, close)");
    println!("{:<10} {:>12} {:>10} {:>18} {:>10}", "path", "µs each", "ratio", "broker CPU µs", "ratio");
    for (path, t) in [("PLAINTEXT", plain), ("SSL", ssl)] {
        println!(
            "{:<10} {:>12.0} {:>9.2}x {:>18.0} {:>9.2}x",
            path,
            us_each(t),
            us_each(t) / us_each(plain),
            cpu_us_each(t),
            cpu_us_each(t) / cpu_us_each(plain),
        );
    }
}

/// µs per login on each side of SCRAM, per mechanism and iteration count,
/// and PLAIN's check.
pub fn login(results: &BTreeMap<String, Totals>) {
    println!("\nsecurity: one SASL login, in memory (µs)");
    println!(
        "{:<14} {:>10} {:>12} {:>12} {:>16} {:>14}",
        "mechanism", "iterations", "client µs", "server µs", "client/server", "credential µs"
    );
    for mechanism in MECHANISMS {
        for iterations in ITERATIONS {
            let key = |side: &str| format!("{side}/{}/{iterations}", mechanism.name());
            let (Some(client), Some(server), Some(credential)) = (
                results.get(&key("scram-client")),
                results.get(&key("scram-server")),
                results.get(&key("scram-credential")),
            ) else {
                continue;
            };
            println!(
                "{:<14} {:>10} {:>12.0} {:>12.1} {:>15.0}x {:>14.0}",
                mechanism.name(),
                iterations,
                us_each(client),
                us_each(server),
                us_each(client) / us_each(server),
                us_each(credential),
            );
        }
    }
    if let Some(plain) = results.get("plain-server/PLAIN") {
        println!("{:<14} {:>10} {:>12} {:>12.2}", "PLAIN", "-", "-", us_each(plain));
    }
}
