//! The book's configuration reference page, written from the table:
//! `spool config-docs > book/src/reference/configs.md`. A test fails when the
//! committed page differs from what the table generates, so the page cannot
//! drift from the code the way a hand-kept list does.

use std::fmt::Write;

use super::{ConfigKey, BROKER_KEYS, TOPIC_KEYS};

/// The command that regenerates the page, as the page and its test say it.
pub const REGENERATE: &str = "cargo run -q -- config-docs > book/src/reference/configs.md";

/// The whole page, in Markdown.
pub fn reference_page() -> String {
    let mut page = String::new();
    page.push_str("# Configuration reference\n\n");
    let _ =
        writeln!(page, "<!-- Generated from src/config/def/ by `{REGENERATE}`; do not edit by hand. -->\n");
    page.push_str(
        "Every key spool reads, from the one table in `src/config/def/` that also parses\n\
         `server.properties` and `--override`, checks CreateTopics' configs and answers\n\
         DescribeConfigs. The names, types and meanings are Kafka's; a key Kafka has that\n\
         is not listed here is accepted in `server.properties` and ignored with a warning\n\
         (except the security keys spool cannot honour, which refuse to start).\n\n\
         *Update mode* says whether a broker key can change without a restart\n\
         (Kafka's `read-only`, `per-broker`, `cluster-wide`). A topic key's *server default property* is\n\
         the broker keys that set its default, the first one set winning.\n\n",
    );
    page.push_str("## Broker configs\n\n");
    for key in BROKER_KEYS {
        entry(&mut page, key, &[("update mode", key.dynamic.name().to_string())]);
    }
    page.push_str("## Topic configs\n\n");
    for key in TOPIC_KEYS {
        let synonyms = key.synonyms.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
        entry(
            &mut page,
            key,
            &[("server default property", if synonyms.is_empty() { "none".into() } else { synonyms })],
        );
    }
    page
}

fn entry(page: &mut String, key: &ConfigKey, extra: &[(&str, String)]) {
    let _ = writeln!(page, "### `{}`\n\n{}\n", key.name, key.doc);
    let default = match key.default {
        Some("") => "\"\"".to_string(),
        Some(v) => format!("`{v}`"),
        None => "null".to_string(),
    };
    let _ = writeln!(page, "- type: {}", key.kind.name());
    let _ = writeln!(page, "- default: {default}");
    let valid = key.valid_text();
    if !valid.is_empty() {
        let _ = writeln!(page, "- valid values: `{valid}`");
    }
    for (name, value) in extra {
        let _ = writeln!(page, "- {name}: {value}");
    }
    if !key.field.is_empty() {
        let _ = writeln!(page, "- sets: `{}`", key.field);
    } else {
        let _ = writeln!(page, "- sets: nothing yet (accepted and described; spool does not act on it)");
    }
    page.push('\n');
}
