//! `--add-scram` parsed in `kafka-storage.sh format`'s syntax, and the
//! bootstrap's records decided by the Alter path without replacing what the
//! image already has.

use super::*;
use crate::security::sasl::scram::ScramCredential;

/// Kafka's documented example parses, with the default 4096 iterations.
#[test]
fn parses_kafkas_example_with_default_iterations() {
    let parsed = parse("SCRAM-SHA-512=[name=alice,password=alice-secret]").unwrap();
    let expected = AddScram {
        mechanism: ScramMechanism::Sha512,
        name: "alice".into(),
        password: "alice-secret".into(),
        iterations: 4096,
    };
    assert_eq!(parsed, expected);
}

/// Iterations are taken when given, and a quoted password keeps its comma.
#[test]
fn parses_iterations_and_a_quoted_password() {
    let parsed = parse(r#"SCRAM-SHA-256=[name=bob,password="a,b=c",iterations=8192]"#).unwrap();
    assert_eq!(parsed.mechanism, ScramMechanism::Sha256);
    assert_eq!((parsed.name.as_str(), parsed.password.as_str(), parsed.iterations), ("bob", "a,b=c", 8192));
}

/// Each malformed argument is refused with a message naming the flag and
/// Kafka's syntax, never a panic.
#[test]
fn refuses_malformed_arguments_naming_the_flag() {
    for bad in [
        "",
        "alice",
        "SCRAM-SHA-1=[name=alice,password=x]",
        "SCRAM-SHA-512=name=alice,password=x",
        "SCRAM-SHA-512=[password=x]",
        "SCRAM-SHA-512=[name=alice]",
        "SCRAM-SHA-512=[name=,password=x]",
        "SCRAM-SHA-512=[name=alice,password=x,iterations=many]",
        "SCRAM-SHA-512=[name=alice,password=\"x]",
        "SCRAM-SHA-512=[name=alice,password=x,color=red]",
        "SCRAM-SHA-512=[name=alice,salt=abc,saltedpassword=def]",
    ] {
        let error = parse(bad).expect_err(bad);
        assert!(error.starts_with("--add-scram "), "{error}");
        assert!(error.contains("SCRAM-SHA-512=[name=alice,password=alice-secret]"), "{error}");
    }
}

/// The records hold a credential the password logs in with (StoredKey from
/// the salted password), and are refused below Kafka's 4096 iterations.
#[test]
fn records_hold_a_credential_for_the_password() {
    let alice = parse("SCRAM-SHA-512=[name=alice,password=alice-secret]").unwrap();
    let added = records(&MetadataImage::default(), &request(&[alice])).unwrap();
    let [MetadataRecord::UserScramCredential { name, mechanism, credential }] = &added[..] else {
        panic!("one credential record: {added:?}");
    };
    assert_eq!((name.as_str(), *mechanism), ("alice", ScramMechanism::Sha512));
    let expected = ScramCredential::new(*mechanism, b"alice-secret", &credential.salt, 4096);
    assert_eq!(credential, &expected);
    let few = parse("SCRAM-SHA-512=[name=alice,password=x,iterations=100]").unwrap();
    let error = records(&MetadataImage::default(), &request(&[few])).unwrap_err();
    assert!(error.contains("alice") && error.contains("Too few iterations"), "{error}");
}

/// A credential already in the image is left alone; a missing one is added.
#[test]
fn records_leave_existing_credentials_alone() {
    let first = parse("SCRAM-SHA-512=[name=alice,password=first]").unwrap();
    let mut image = MetadataImage::default();
    for record in records(&image.clone(), &request(&[first])).unwrap() {
        image.apply(&record).unwrap();
    }
    let again = parse("SCRAM-SHA-512=[name=alice,password=second]").unwrap();
    let bob = parse("SCRAM-SHA-256=[name=bob,password=bob-secret]").unwrap();
    let added = records(&image, &request(&[again, bob])).unwrap();
    let users: Vec<&str> = added
        .iter()
        .map(|r| match r {
            MetadataRecord::UserScramCredential { name, .. } => name.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(users, ["bob"]);
}
