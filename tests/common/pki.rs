//! Certificates for TLS tests, made with rcgen (ring): a self-signed CA, and leaf certificates
//! for `localhost` and `127.0.0.1` that it signs, as PEM.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// A certificate and its key, PEM.
pub struct ClientCert {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// A self-signed CA named `name`.
pub fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

/// A certificate for `localhost` and `127.0.0.1` with subject CN `cn`, for `usage`, signed by
/// `ca`.
pub fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
) -> ClientCert {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, &**ca).expect("leaf");
    ClientCert {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}
