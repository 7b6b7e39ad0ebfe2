//! The simulator's certificate authority, standing in for the CA behind WeChat Pay's
//! merchant API certificates (`apiclient_cert.pem`): it issues each merchant a client
//! certificate for mutual TLS on `/secapi/…`, and the secapi listener its server
//! certificate.
//!
//! A merchant's certificate is made as WeChat's are: its key is the merchant API key
//! (`apiclient_key.pem`, the same key that signs v3 requests), its serial number is the
//! merchant certificate serial sent in v3 `Authorization` headers, and its subject's common
//! name is the `mchid`.
//!
//! Validity runs from 1975 to 4096 (rcgen's defaults), so that no clock is read here and
//! tests with a shifted clock keep working.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_RSA_SHA256, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a certificate could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("certificate generation failed: {0}")]
pub struct CertificateError(String);

impl From<rcgen::Error> for CertificateError {
    fn from(error: rcgen::Error) -> CertificateError {
        CertificateError(error.to_string())
    }
}

/// The simulator's CA: its certificate and the key that signs what it issues.
pub(crate) struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pub(crate) certificate_pem: String,
    pub(crate) certificate_der: CertificateDer<'static>,
}

/// A merchant's client certificate, as issued.
#[derive(Clone)]
pub(crate) struct ClientCertificate {
    pub(crate) pem: String,
    pub(crate) der: CertificateDer<'static>,
}

/// A server certificate and its private key, for the secapi listener.
pub(crate) struct ServerIdentity {
    pub(crate) certificate: CertificateDer<'static>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Authority {
    pub(crate) fn generate() -> Result<Authority, CertificateError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, "Payrail sandbox");
        // A name of its own, so that another simulator's CA is told apart by name too.
        let name = format!("Payrail WeChat Pay simulator CA {}", super::random::hex_upper(8));
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        Ok(Authority {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The client certificate of merchant `mchid`, for its RSA key (PKCS#8 PEM) and with
    /// `serial_hex` as serial number.
    pub(crate) fn issue_client(
        &self,
        mchid: &str,
        serial_hex: &str,
        private_key_pem: &str,
    ) -> Result<ClientCertificate, CertificateError> {
        let key = KeyPair::from_pkcs8_pem_and_sign_algo(private_key_pem, &PKCS_RSA_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CountryName, "CN");
        params.distinguished_name.push(DnType::OrganizationName, "Payrail sandbox merchant");
        params.distinguished_name.push(DnType::CommonName, mchid);
        params.serial_number = Some(SerialNumber::from_slice(&hex_bytes(serial_hex)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(ClientCertificate { pem: certificate.pem(), der: certificate.der().clone() })
    }

    /// A server certificate for `names` (DNS names or IP addresses), with a fresh key.
    pub(crate) fn issue_server(&self, names: Vec<String>) -> Result<ServerIdentity, CertificateError> {
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "Payrail WeChat Pay simulator secapi");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(ServerIdentity {
            certificate: certificate.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}

/// The bytes of an even-length hex string; the serials given here are generated hex.
fn hex_bytes(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok().and_then(|text| u8::from_str_radix(text, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_read_as_hex_pairs() {
        assert_eq!(hex_bytes("0AFF10"), vec![0x0a, 0xff, 0x10]);
    }
}
