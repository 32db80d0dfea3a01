//! The TLS algorithms `my` offers: a rustls crypto provider put together from ring's parts.
//!
//! rustls' own ring provider also brings ChaCha20-Poly1305 (ring's assembly for it, ~50 KB)
//! and the code that loads private keys for client certificates, which `my` never presents.
//! AES-GCM, which every TLS server offers, is what remains; certificates are verified with the
//! same algorithms as before.

use rustls::crypto::ring::{cipher_suite as suite, kx_group};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::crypto::{CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::SignatureScheme;
use std::sync::Arc;
use webpki::ring as alg;

pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            suite::TLS13_AES_128_GCM_SHA256,
            suite::TLS13_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIGNATURES,
        secure_random: &Random,
        key_provider: &NoClientKeys,
    }
}

/// What rustls' ring provider verifies, the same table (a test compares the two).
static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the scheme; for TLS 1.3 it is.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[alg::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[alg::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[alg::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[alg::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// The operating system's CSPRNG, as ring's own provider uses it.
#[derive(Debug)]
struct Random;

impl SecureRandom for Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| GetRandomFailed)
    }
}

/// `my` presents no client certificate, so it loads no private key.
#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "client certificates are not supported".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn the_provider_makes_a_client_config_for_tls_1_2_and_1_3() {
        // What ureq does with it (and `expect`s to succeed).
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(super::provider()))
            .with_protocol_versions(rustls::ALL_VERSIONS);
        assert!(config.is_ok());
        for version in rustls::ALL_VERSIONS {
            assert!(super::provider()
                .cipher_suites
                .iter()
                .any(|s| s.version() == *version));
        }
        // No client certificate can be configured.
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(vec![0u8; 8].into());
        assert!(super::provider()
            .key_provider
            .load_private_key(key)
            .is_err());
    }

    /// The table above is a copy of rustls' own (its ring provider's), which cannot be
    /// named in a `static` without the rest of that provider: a rustls upgrade that changes
    /// theirs must change ours.
    #[test]
    fn the_signature_table_is_rustls_own() {
        use rustls::pki_types::{AlgorithmIdentifier, SignatureVerificationAlgorithm};
        type Ids = Vec<(AlgorithmIdentifier, AlgorithmIdentifier)>;
        fn ids(algs: &[&dyn SignatureVerificationAlgorithm]) -> Ids {
            algs.iter()
                .map(|a| (a.public_key_alg_id(), a.signature_alg_id()))
                .collect()
        }
        let theirs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let ours = super::SIGNATURES;
        assert_eq!(ids(ours.all), ids(theirs.all), "the algorithms differ");
        let schemes = |t: &rustls::crypto::WebPkiSupportedAlgorithms| -> Vec<_> {
            t.mapping
                .iter()
                .map(|(scheme, algs)| (*scheme, ids(algs)))
                .collect()
        };
        assert_eq!(
            schemes(&ours),
            schemes(&theirs),
            "the scheme mapping differs"
        );
    }
}
