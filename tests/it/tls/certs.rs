//! Certificates made for a test with rcgen: one CA, a broker certificate for
//! 127.0.0.1 and localhost, and client certificates with a chosen subject —
//! written as the PEM files Kafka's `ssl.*` keys name.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

/// A CA and the files of what it signed.
pub struct Pki {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    /// `ssl.truststore.location`: the CA certificate.
    pub ca: PathBuf,
}

impl Pki {
    /// A fresh CA in `dir`.
    pub fn new(dir: &Path) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "spool test CA");
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, cert.pem()).unwrap();
        Pki { dir: dir.to_path_buf(), issuer: Issuer::new(params, key), ca }
    }

    /// A keystore PEM (private key, then certificate) named `name`, for the
    /// hosts in `sans`, with the subject `(type, value)`s in certificate order.
    pub fn keystore(&self, name: &str, sans: &[&str], subject: &[(DnType, &str)]) -> PathBuf {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let mut dn = DistinguishedName::new();
        for (kind, value) in subject {
            dn.push(kind.clone(), *value);
        }
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let path = self.dir.join(format!("{name}.pem"));
        std::fs::write(&path, format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
        path
    }

    /// A broker's keystore: valid for 127.0.0.1 and localhost.
    pub fn broker(&self, name: &str) -> PathBuf {
        self.keystore(name, &["127.0.0.1", "localhost"], &[(DnType::CommonName, name)])
    }
}
