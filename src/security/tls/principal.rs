//! The principal of a client certificate: its subject's distinguished name,
//! as Kafka's `ssl.principal.mapping.rules=DEFAULT` gives it.
//!
//! Kafka asks Java for the subject in RFC 2253 form (`X500Principal.getName()`):
//! the relative distinguished names last-to-first as the certificate stores
//! them (so `CN` usually leads), `,` between them, `+` inside a multi-valued
//! one, and `,+"\<>;` escaped with a backslash. The principal is `User:` and
//! that string: `User:CN=alice,OU=eng,O=spool`.
//!
//! The certificate is DER; rustls checked it and hands over its bytes. Only
//! the path to the subject is walked here — a few nested TLVs:
//!
//! ```text
//! Certificate  SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
//! tbs          SEQUENCE { [0] version?, serial, signature, issuer, validity, subject, … }
//! subject      SEQUENCE OF  SET OF  SEQUENCE { type OID, value ANY }
//! ```
//!
//! Simplifications: attribute types without a short name print as the dotted
//! OID with `#` and the value's DER in hex, as Java does; string values of any
//! ASN.1 string type are read as UTF-8 (BMPString as UTF-16).

/// One DER element: its tag, its contents, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// The subject of a DER certificate in RFC 2253 form (`CN=alice,OU=eng`), or
/// `None` if the bytes are not a certificate.
pub fn subject_dn(cert_der: &[u8]) -> Option<String> {
    let (SEQUENCE, cert, _) = tlv(cert_der)? else { return None };
    let (SEQUENCE, mut tbs, _) = tlv(cert)? else { return None };
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2; // the explicit version
    }
    // serial, signature algorithm, issuer, validity: skipped.
    for _ in 0..4 {
        tbs = tlv(tbs)?.2;
    }
    let (SEQUENCE, mut name, _) = tlv(tbs)? else { return None };
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (SET, mut set, rest) = tlv(name)? else { return None };
        name = rest;
        let mut attributes = Vec::new();
        while !set.is_empty() {
            let (SEQUENCE, attribute, rest) = tlv(set)? else { return None };
            set = rest;
            let (OID, oid, value) = tlv(attribute)? else { return None };
            attributes.push(attribute_string(oid, value)?);
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

/// `type=value` for one attribute.
fn attribute_string(oid: &[u8], value_der: &[u8]) -> Option<String> {
    let (tag, value, _) = tlv(value_der)?;
    let Some(keyword) = keyword(oid) else {
        let hex: String = value_der.iter().map(|b| format!("{b:02x}")).collect();
        return Some(format!("{}=#{hex}", dotted(oid)));
    };
    let text = match tag {
        0x1e => {
            let units: Vec<u16> = value.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value).into_owned(),
    };
    Some(format!("{keyword}={}", escape(&text)))
}

/// The short names RFC 2253 (and Java) print; other types print as OIDs.
fn keyword(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "STREET",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return None,
    })
}

/// An OID's dotted form (`1.2.840.113549.1.9.1`).
fn dotted(oid: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

/// RFC 2253 escaping: the special characters anywhere, `#` or a space first,
/// a space last.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';');
        if special || (i == 0 && (c == '#' || c == ' ')) || (i == last && c == ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate whose subject is `O=spool, OU=eng, CN=alice` (in the
    /// order the certificate stores them) prints as Java's RFC 2253 form,
    /// last first: `CN=alice,OU=eng,O=spool` — what Kafka's DEFAULT mapping
    /// rule makes the principal.
    #[test]
    fn the_subject_prints_last_rdn_first_as_java_does() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "spool");
        dn.push(rcgen::DnType::OrganizationalUnitName, "eng");
        dn.push(rcgen::DnType::CommonName, "alice");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(subject_dn(cert.der()).as_deref(), Some("CN=alice,OU=eng,O=spool"));
    }

    /// RFC 2253's specials are escaped, and an unknown attribute type prints
    /// as its OID with the value's DER in hex.
    #[test]
    fn specials_are_escaped_and_unknown_types_print_as_oids() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x "), "\\#x\\ ");
        // emailAddress (1.2.840.113549.1.9.1), IA5String "a@b".
        let oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
        let value = [0x16, 0x03, b'a', b'@', b'b'];
        assert_eq!(attribute_string(&oid, &value).unwrap(), "1.2.840.113549.1.9.1=#1603614062");
        assert_eq!(subject_dn(&[0x30, 0x05, 0x01]), None);
    }
}
