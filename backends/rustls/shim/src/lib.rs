//! lastbyte's C interface over rustls 0.20 (lastbyte_rustls.h states every
//! function's contract and the ownership of every pointer).
//!
//! No panic crosses the interface: every `extern "C"` function runs its body
//! through `guard`, which catches an unwinding panic and returns
//! LB_RUSTLS_PANIC. The C callbacks (key log, certificate check, new
//! session, push) are the C++ adapter's, which never unwinds either.
//!
//! rustls calls a ClientConfig's or ServerConfig's traits (KeyLog, the
//! certificate verifiers, the client session store) with no connection at
//! hand; every entry point that can reach them names its connection in the
//! thread-local `CURRENT` for the call's duration, and the traits hand the
//! callbacks that connection's `user` pointer.

use std::cell::Cell;
use std::convert::TryFrom;
use std::io::{self, Read, Write};
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::slice;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::{ServerCertVerified, ServerCertVerifier, StoresClientSessions};
use rustls::server::{ClientCertVerified, ClientCertVerifier, ServerSessionMemoryCache, StoresServerSessions};
use rustls::{
    AlertDescription, Certificate, ClientConfig, ClientConnection, Connection, DistinguishedNames, Error, KeyLog,
    PrivateKey, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection, ServerName, SupportedCipherSuite,
};

// ---- status codes and constants (lastbyte_rustls.h) -------------------------

pub const LB_RUSTLS_OK: i32 = 0;
pub const LB_RUSTLS_WOULD_BLOCK: i32 = 1;
pub const LB_RUSTLS_CLOSED: i32 = 2;
pub const LB_RUSTLS_TLS_ERROR: i32 = 3;
pub const LB_RUSTLS_CONFIG_ERROR: i32 = 4;
pub const LB_RUSTLS_INVALID_ARGUMENT: i32 = 5;
pub const LB_RUSTLS_PANIC: i32 = 6;
pub const LB_RUSTLS_UNEXPECTED_EOF: i32 = 7;

const FAULT_UNTRUSTED: u32 = 2;
const FAULT_USAGE: u32 = 4;
const FAULT_EXPIRED: u32 = 16;
const FAULT_BAD_CERTIFICATE: u32 = 32;

const ERROR_KIND_LIBRARY: i32 = 1;
const ERROR_KIND_ALERT_RECEIVED: i32 = 2;
const ERROR_KIND_CERTIFICATE: i32 = 3;
const ERROR_KIND_NO_CERTIFICATE: i32 = 4;
const ERROR_KIND_INCOMPATIBLE: i32 = 5;
const ERROR_KIND_NO_APPLICATION_PROTOCOL: i32 = 6;
const ERROR_KIND_PROTOCOL: i32 = 7;
const ERROR_KIND_VERSION: i32 = 8;

fn guard<F: FnOnce() -> i32>(f: F) -> i32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(LB_RUSTLS_PANIC)
}

unsafe fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        slice::from_raw_parts(data, len)
    }
}

fn write_message(out: *mut c_char, capacity: usize, text: &str) {
    if out.is_null() || capacity == 0 {
        return;
    }
    let n = text.len().min(capacity - 1);
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), out as *mut u8, n);
        *out.add(n) = 0;
    }
}

// ---- the callbacks ----------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
pub struct LbRustlsCallbacks {
    pub keylog: Option<
        unsafe extern "C" fn(user: *mut c_void, label: *const u8, label_len: usize, client_random: *const u8,
                             random_len: usize, secret: *const u8, secret_len: usize),
    >,
    pub verify: Option<
        unsafe extern "C" fn(user: *mut c_void, chain_faults: u32, leaf: *const u8, leaf_len: usize) -> u32,
    >,
    pub new_session: Option<unsafe extern "C" fn(user: *mut c_void, blob: *const u8, len: usize)>,
    pub push: Option<unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize)>,
}

struct Current {
    user: *mut c_void,
    resume: *const Vec<u8>,
}

thread_local! {
    static CURRENT: Cell<Option<(*mut c_void, *const Vec<u8>)>> = Cell::new(None);
}

// Names `conn` as the current connection while `f` runs (nested calls restore).
fn with_current<R>(current: Current, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(*mut c_void, *const Vec<u8>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some((current.user, current.resume)))));
    f()
}

fn current_user() -> *mut c_void {
    CURRENT.with(|c| c.get().map(|(u, _)| u).unwrap_or(ptr::null_mut()))
}

struct Hooks(LbRustlsCallbacks);
// The callbacks are thread-safe C functions (the header's contract).
unsafe impl Send for Hooks {}
unsafe impl Sync for Hooks {}

impl KeyLog for Hooks {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(keylog) = self.0.keylog {
            let user = current_user();
            unsafe {
                keylog(user, label.as_ptr(), label.len(), client_random.as_ptr(), client_random.len(),
                       secret.as_ptr(), secret.len())
            }
        }
    }
}

// ---- sessions ----------------------------------------------------------------
// A client's session blob: "LBR1", the store key's length (4 bytes, big
// endian), the key, the value rustls encoded. rustls 0.20 stores encoded
// sessions in a StoresClientSessions by key; this store hands each new one
// to the current connection as a blob, and serves the current connection's
// resume blob back.

const BLOB_MAGIC: &[u8; 4] = b"LBR1";

fn split_blob(blob: &[u8]) -> Option<(&[u8], &[u8])> {
    if blob.len() < 8 || &blob[..4] != BLOB_MAGIC {
        return None;
    }
    let n = u32::from_be_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if blob.len() < 8 + n {
        return None;
    }
    Some((&blob[8..8 + n], &blob[8 + n..]))
}

struct SessionStore(Hooks);

impl StoresClientSessions for SessionStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        // rustls also stores a key-exchange hint ("kx-hint" keys): not a session.
        if !key.starts_with(b"session") {
            return false;
        }
        let new_session = match (self.0).0.new_session {
            Some(f) => f,
            None => return false,
        };
        let mut blob = Vec::with_capacity(8 + key.len() + value.len());
        blob.extend_from_slice(BLOB_MAGIC);
        blob.extend_from_slice(&(key.len() as u32).to_be_bytes());
        blob.extend_from_slice(&key);
        blob.extend_from_slice(&value);
        unsafe { new_session(current_user(), blob.as_ptr(), blob.len()) };
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let resume = CURRENT.with(|c| c.get().map(|(_, r)| r).unwrap_or(ptr::null()));
        if resume.is_null() {
            return None;
        }
        let (k, v) = split_blob(unsafe { &*resume })?;
        if k == key {
            Some(v.to_vec())
        } else {
            None
        }
    }
}

// A server without resumption (Config::session_tickets false): like the
// other libraries' servers it still sends a TLS 1.2 session id (rustls sends
// an empty one when its store cannot cache, which a wolfSSL 5.5 client's key
// log then misses), but stores nothing, so nothing resumes and no TLS 1.3
// ticket is sent (rustls issues one only when its store keeps it).
struct SessionIdsOnly;

impl StoresServerSessions for SessionIdsOnly {
    fn put(&self, _key: Vec<u8>, _value: Vec<u8>) -> bool {
        false
    }
    fn get(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn take(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn can_cache(&self) -> bool {
        true
    }
}

// ---- certificate checks --------------------------------------------------------

static SIGNATURE_ALGORITHMS: &[&webpki::SignatureAlgorithm] = &[
    &webpki::ECDSA_P256_SHA256,
    &webpki::ECDSA_P256_SHA384,
    &webpki::ECDSA_P384_SHA256,
    &webpki::ECDSA_P384_SHA384,
    &webpki::ED25519,
    &webpki::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    &webpki::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    &webpki::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    &webpki::RSA_PKCS1_2048_8192_SHA256,
    &webpki::RSA_PKCS1_2048_8192_SHA384,
    &webpki::RSA_PKCS1_2048_8192_SHA512,
    &webpki::RSA_PKCS1_3072_8192_SHA384,
];

fn faults_of(error: webpki::Error) -> u32 {
    use webpki::Error as E;
    match error {
        E::UnknownIssuer => FAULT_UNTRUSTED,
        E::CertExpired | E::CertNotValidYet => FAULT_EXPIRED,
        E::RequiredEkuNotFound | E::CaUsedAsEndEntity | E::EndEntityUsedAsCa => FAULT_USAGE,
        _ => FAULT_BAD_CERTIFICATE,
    }
}

// A trust anchor webpki parsed from its certificate, owned (a system store
// holds about 140: parsed once per context, not per handshake).
struct Anchor {
    subject: Vec<u8>,
    spki: Vec<u8>,
    name_constraints: Option<Vec<u8>>,
}

impl Anchor {
    fn parse(der: &[u8]) -> Option<Anchor> {
        let anchor = webpki::TrustAnchor::try_from_cert_der(der).ok()?;
        Some(Anchor {
            subject: anchor.subject.to_vec(),
            spki: anchor.spki.to_vec(),
            name_constraints: anchor.name_constraints.map(|n| n.to_vec()),
        })
    }
    fn borrow(&self) -> webpki::TrustAnchor<'_> {
        webpki::TrustAnchor { subject: &self.subject, spki: &self.spki, name_constraints: self.name_constraints.as_deref() }
    }
}

// The chain check, by webpki; the host name is the adapter's (policy::names_match).
struct Verifier {
    hooks: Hooks,
    anchors: Vec<Anchor>, // parsed once per context, borrowed by each check
    subjects: DistinguishedNames,
    client_auth: u32, // server: 0 none, 1 optional, 2 required
}

impl Verifier {
    fn chain_faults(&self, end_entity: &Certificate, intermediates: &[Certificate], now: SystemTime,
                    server: bool) -> u32 {
        let cert = match webpki::EndEntityCert::try_from(end_entity.0.as_ref()) {
            Ok(cert) => cert,
            Err(_) => return FAULT_BAD_CERTIFICATE,
        };
        let anchors: Vec<webpki::TrustAnchor> = self.anchors.iter().map(Anchor::borrow).collect();
        let chain: Vec<&[u8]> = intermediates.iter().map(|c| c.0.as_ref()).collect();
        let time = match webpki::Time::try_from(now) {
            Ok(time) => time,
            Err(_) => return FAULT_BAD_CERTIFICATE,
        };
        let result = if server {
            cert.verify_is_valid_tls_server_cert(SIGNATURE_ALGORITHMS, &webpki::TlsServerTrustAnchors(&anchors),
                                                 &chain, time)
        } else {
            cert.verify_is_valid_tls_client_cert(SIGNATURE_ALGORITHMS, &webpki::TlsClientTrustAnchors(&anchors),
                                                 &chain, time)
        };
        match result {
            Ok(()) => 0,
            Err(e) => faults_of(e),
        }
    }

    fn decide(&self, chain_faults: u32, leaf: &Certificate) -> Result<(), Error> {
        let faults = match self.hooks.0.verify {
            Some(verify) => unsafe { verify(current_user(), chain_faults, leaf.0.as_ptr(), leaf.0.len()) },
            None => chain_faults,
        };
        if faults == 0 {
            Ok(())
        } else {
            Err(Error::InvalidCertificateData(format!("certificate faults 0x{:x}", faults)))
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(&self, end_entity: &Certificate, intermediates: &[Certificate], _server_name: &ServerName,
                          _scts: &mut dyn Iterator<Item = &[u8]>, _ocsp_response: &[u8], now: SystemTime)
                          -> Result<ServerCertVerified, Error> {
        let faults = self.chain_faults(end_entity, intermediates, now, true);
        self.decide(faults, end_entity).map(|_| ServerCertVerified::assertion())
    }
}

impl ClientCertVerifier for Verifier {
    fn offer_client_auth(&self) -> bool {
        self.client_auth != 0
    }
    fn client_auth_mandatory(&self) -> Option<bool> {
        Some(self.client_auth == 2)
    }
    fn client_auth_root_subjects(&self) -> Option<DistinguishedNames> {
        Some(self.subjects.clone())
    }
    fn verify_client_cert(&self, end_entity: &Certificate, intermediates: &[Certificate], now: SystemTime)
                          -> Result<ClientCertVerified, Error> {
        let faults = self.chain_faults(end_entity, intermediates, now, false);
        self.decide(faults, end_entity).map(|_| ClientCertVerified::assertion())
    }
}

// A verifier that accepts every certificate (a client with verification off).
struct NoVerifier;
impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(&self, _: &Certificate, _: &[Certificate], _: &ServerName, _: &mut dyn Iterator<Item = &[u8]>,
                          _: &[u8], _: SystemTime) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }
}

// ---- PEM ------------------------------------------------------------------------

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

// Every PEM block of `text` as (label, DER).
fn pem_blocks(text: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not PEM text".to_string())?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + 11..];
        let label_end = after.find("-----").ok_or("a PEM header without its end")?;
        let label = after[..label_end].to_string();
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {}-----", label);
        let end = body.find(&end_marker).ok_or_else(|| format!("a PEM block {} without its END line", label))?;
        let der = base64_decode(&body[..end]).ok_or_else(|| format!("a PEM block {} that is not base64", label))?;
        blocks.push((label, der));
        rest = &body[end + end_marker.len()..];
    }
    Ok(blocks)
}

fn certificates(text: &[u8]) -> Result<Vec<Certificate>, String> {
    Ok(pem_blocks(text)?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE")
        .map(|(_, der)| Certificate(der))
        .collect())
}

fn private_key(text: &[u8]) -> Result<PrivateKey, String> {
    pem_blocks(text)?
        .into_iter()
        .find(|(label, _)| label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY")
        .map(|(_, der)| PrivateKey(der))
        .ok_or_else(|| "no PEM private key (PRIVATE KEY, RSA PRIVATE KEY)".to_string())
}

// The subjectPublicKey bits of a DER certificate (RFC 5280 §4.1).
fn subject_public_key(der: &[u8]) -> Option<&[u8]> {
    let (_, cert, _) = der_next(der)?;
    let (_, tbs, _) = der_next(cert)?;
    let mut rest = tbs;
    // [0] version (optional), serial, signature, issuer, validity, subject, SPKI
    let mut index = 0;
    while !rest.is_empty() {
        let (tag, value, next) = der_next(rest)?;
        rest = next;
        if tag == 0xa0 {
            continue;
        }
        if index == 5 {
            let (_, _algorithm, spki_rest) = der_next(value)?;
            let (tag, bits, _) = der_next(spki_rest)?;
            return if tag == 0x03 && !bits.is_empty() { Some(&bits[1..]) } else { None };
        }
        index += 1;
    }
    None
}

// Whether `key` (PKCS#8, or PKCS#1 RSA) is the private half of the
// certificate's public key: rustls 0.20 checks only that it can sign.
fn key_matches(cert: &[u8], key: &[u8]) -> bool {
    use ring::signature::{self, KeyPair};
    let public = match subject_public_key(cert) {
        Some(p) => p,
        None => return false,
    };
    let ours: Option<Vec<u8>> = signature::RsaKeyPair::from_pkcs8(key)
        .or_else(|_| signature::RsaKeyPair::from_der(key))
        .map(|k| k.public_key().as_ref().to_vec())
        .ok()
        .or_else(|| {
            [&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &signature::ECDSA_P384_SHA384_ASN1_SIGNING]
                .iter()
                .find_map(|alg| signature::EcdsaKeyPair::from_pkcs8(alg, key).ok())
                .map(|k| k.public_key().as_ref().to_vec())
        })
        .or_else(|| {
            signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(key).ok().map(|k| k.public_key().as_ref().to_vec())
        });
    // A key ring cannot read (SEC1 EC keys): rustls judges it below.
    ours.map_or(true, |ours| ours == public)
}

// ---- contexts -----------------------------------------------------------------

#[repr(C)]
pub struct LbRustlsOptions {
    pub server: i32,
    pub tls12: i32,
    pub tls13: i32,
    pub suites: *const u16,
    pub suite_count: usize,
    pub alpn: *const u8, // RFC 7301 ProtocolNameList (length-prefixed names)
    pub alpn_len: usize,
    pub ca_pem: *const u8,
    pub ca_pem_len: usize,
    pub chain_pem: *const u8,
    pub chain_pem_len: usize,
    pub key_pem: *const u8,
    pub key_pem_len: usize,
    pub verify: i32,      // client: 0 off, else on. server: 0 none, 1 optional, 2 required
    pub tickets: i32,     // session resumption
    pub keylog: i32,      // call callbacks.keylog
}

enum Configs {
    Client { sni: Arc<ClientConfig>, no_sni: Arc<ClientConfig> },
    Server(Arc<ServerConfig>),
}

pub struct LbRustlsContext {
    configs: Configs,
    hooks: LbRustlsCallbacks,
}

fn suites_of(options: &LbRustlsOptions) -> Result<Vec<SupportedCipherSuite>, String> {
    let ids = unsafe { slice::from_raw_parts(options.suites, if options.suites.is_null() { 0 } else { options.suite_count }) };
    let mut suites = Vec::new();
    for id in ids {
        match rustls::ALL_CIPHER_SUITES.iter().find(|s| s.suite().get_u16() == *id) {
            Some(s) => suites.push(*s),
            None => return Err(format!("cipher suite 0x{:04x} is unknown to rustls", id)),
        }
    }
    Ok(suites)
}

fn alpn_list(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut list = Vec::new();
    let mut rest = wire;
    while let Some((&n, tail)) = rest.split_first() {
        let n = (n as usize).min(tail.len());
        list.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    list
}

fn build_context(options: &LbRustlsOptions, hooks: LbRustlsCallbacks) -> Result<LbRustlsContext, String> {
    let suites = suites_of(options)?;
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if options.tls13 != 0 {
        versions.push(&rustls::version::TLS13);
    }
    if options.tls12 != 0 {
        versions.push(&rustls::version::TLS12);
    }
    let groups = [&rustls::kx_group::X25519, &rustls::kx_group::SECP256R1, &rustls::kx_group::SECP384R1];
    let ca = certificates(unsafe { bytes(options.ca_pem, options.ca_pem_len) }).map_err(|e| format!("ca: {}", e))?;
    let mut roots = RootCertStore::empty();
    for cert in &ca {
        // An anchor webpki cannot parse is left out, as the others skip it.
        let _ = roots.add(cert);
    }
    let chain_pem = unsafe { bytes(options.chain_pem, options.chain_pem_len) };
    let identity = if chain_pem.is_empty() {
        None
    } else {
        let chain = certificates(chain_pem).map_err(|e| format!("certificate chain: {}", e))?;
        if chain.is_empty() {
            return Err("the certificate chain holds no PEM certificate".into());
        }
        let key = private_key(unsafe { bytes(options.key_pem, options.key_pem_len) })?;
        if !key_matches(&chain[0].0, &key.0) {
            return Err("the private key does not match the certificate".into());
        }
        Some((chain, key))
    };
    #[allow(deprecated)] // its replacement (OwnedTrustAnchor::subject) gives the same DER names
    let subjects = roots.subjects();
    let verifier = Arc::new(Verifier {
        hooks: Hooks(hooks),
        anchors: ca.iter().filter_map(|c| Anchor::parse(&c.0)).collect(),
        subjects,
        client_auth: if options.server != 0 { options.verify.clamp(0, 2) as u32 } else { 0 },
    });
    let alpn = alpn_list(unsafe { bytes(options.alpn, options.alpn_len) });
    let keylog: Option<Arc<dyn KeyLog>> = if options.keylog != 0 { Some(Arc::new(Hooks(hooks))) } else { None };
    if options.server != 0 {
        let base = ServerConfig::builder()
            .with_cipher_suites(&suites)
            .with_kx_groups(&groups)
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?;
        let base = if options.verify != 0 {
            base.with_client_cert_verifier(verifier)
        } else {
            base.with_no_client_auth()
        };
        let (chain, key) = identity.ok_or("a server needs a certificate chain and key")?;
        let mut config = base.with_single_cert(chain, key).map_err(|e| e.to_string())?;
        config.ignore_client_order = true;
        config.alpn_protocols = alpn;
        if options.tickets != 0 {
            config.ticketer = rustls::Ticketer::new().map_err(|e| e.to_string())?;
            config.session_storage = ServerSessionMemoryCache::new(256);
        } else {
            config.session_storage = Arc::new(SessionIdsOnly);
        }
        if let Some(keylog) = keylog {
            config.key_log = keylog;
        }
        Ok(LbRustlsContext { configs: Configs::Server(Arc::new(config)), hooks })
    } else {
        let base = ClientConfig::builder()
            .with_cipher_suites(&suites)
            .with_kx_groups(&groups)
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?;
        let base = if options.verify == 2 {
            // rustls's own check (WebPkiVerifier: chain and host name), as an
            // application configures it: native mode and the benchmarks.
            base.with_custom_certificate_verifier(Arc::new(rustls::client::WebPkiVerifier::new(roots, None)))
        } else if options.verify != 0 {
            base.with_custom_certificate_verifier(verifier)
        } else {
            base.with_custom_certificate_verifier(Arc::new(NoVerifier))
        };
        let mut config = match identity {
            Some((chain, key)) => base.with_single_cert(chain, key).map_err(|e| e.to_string())?,
            None => base.with_no_client_auth(),
        };
        config.alpn_protocols = alpn;
        config.enable_tickets = options.tickets != 0;
        config.session_storage = if options.tickets != 0 {
            Arc::new(SessionStore(Hooks(hooks)))
        } else {
            Arc::new(rustls::client::NoClientSessionStorage {})
        };
        if let Some(keylog) = keylog {
            config.key_log = keylog;
        }
        let mut no_sni = config.clone();
        no_sni.enable_sni = false;
        Ok(LbRustlsContext {
            configs: Configs::Client { sni: Arc::new(config), no_sni: Arc::new(no_sni) },
            hooks,
        })
    }
}

/// See lastbyte_rustls.h.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_context_new(options: *const LbRustlsOptions, callbacks: *const LbRustlsCallbacks,
                                               out: *mut *mut LbRustlsContext, message: *mut c_char,
                                               message_capacity: usize) -> i32 {
    guard(|| {
        if options.is_null() || callbacks.is_null() || out.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        *out = ptr::null_mut();
        match build_context(&*options, *callbacks) {
            Ok(context) => {
                *out = Box::into_raw(Box::new(context));
                LB_RUSTLS_OK
            }
            Err(text) => {
                write_message(message, message_capacity, &text);
                LB_RUSTLS_CONFIG_ERROR
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_context_free(context: *mut LbRustlsContext) {
    if !context.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(context))));
    }
}

// ---- connections ----------------------------------------------------------------

/// A TLS 1.2 server's handshake as it went out: rustls 0.20 does not say
/// whether it resumed (received_resumption_data is TLS 1.3's), and an
/// abbreviated handshake is the one whose ChangeCipherSpec comes without a
/// Certificate before it (RFC 5246 §7.3).
#[derive(Default)]
struct ServerFlight {
    certificate_sent: bool,
    resumed_tls12: bool,
}

impl ServerFlight {
    fn saw(&mut self, record: &[u8]) {
        match record.first() {
            Some(22) if record.get(5) == Some(&11) => self.certificate_sent = true,
            Some(20) if !self.certificate_sent => self.resumed_tls12 = true,
            _ => {}
        }
    }
}

pub struct LbRustlsConn {
    conn: Connection,
    user: *mut c_void,
    push: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
    resume: Vec<u8>,
    error: Option<Error>,
    plaintext: usize,
    server: bool,
    selected_alpn: Vec<u8>,
    sent_fatal_alert: Option<u8>,
    flight: ServerFlight,
}

impl LbRustlsConn {
    fn current(&self) -> Current {
        Current { user: self.user, resume: &self.resume }
    }

    // Sends what rustls has sealed.
    fn flush(&mut self) {
        // write_tls hands one record per write() (Write's default
        // write_vectored writes the first buffer, and each of rustls's
        // buffers holds one record).
        struct Push<'a> {
            user: *mut c_void,
            push: Option<unsafe extern "C" fn(*mut c_void, *const u8, usize)>,
            flight: &'a mut ServerFlight,
        }
        impl Write for Push<'_> {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.flight.saw(data);
                if let Some(push) = self.push {
                    unsafe { push(self.user, data.as_ptr(), data.len()) };
                }
                Ok(data.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        // TLS 1.3's middlebox ChangeCipherSpec comes before its (encrypted)
        // Certificate: only a TLS 1.2 flight tells.
        let watching = self.server && self.conn.is_handshaking()
            && self.conn.protocol_version() == Some(ProtocolVersion::TLSv1_2);
        let mut quiet = ServerFlight::default();
        let mut push = Push { user: self.user, push: self.push, flight: if watching { &mut self.flight } else { &mut quiet } };
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut push) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    fn fail(&mut self, error: Error, record_len: usize) -> i32 {
        let tls13 = self.conn.protocol_version() == Some(ProtocolVersion::TLSv1_3);
        let after_handshake = !self.conn.is_handshaking();
        self.sent_fatal_alert = alert_rustls_sends(&error, self.server, after_handshake, tls13, record_len);
        self.error = Some(error);
        self.flush();
        LB_RUSTLS_TLS_ERROR
    }
}

/// rustls 0.20's texts for "no TLS version in common" (server/hs.rs
/// bad_version, client/hs.rs): the errors it sends protocol_version for.
fn is_version_mismatch(why: &str) -> bool {
    matches!(why, "TLS1.2 not offered/enabled" | "Client does not support TLSv1_2"
        | "Server requires TLS1.3, but client omitted versions ext"
        | "Expecting QUIC connection, but client does not support TLSv1_3"
        | "server's TLS version is disabled in client" | "server does not support TLS v1.2/v1.3")
}

/// A General error the peer caused (rustls 0.20 names it General): a TLS 1.2
/// ClientHello whose signature_algorithms has no scheme our key can sign
/// with (server/tls12.rs). Nothing in common, not rustls failing; rustls
/// sends no alert for it.
fn is_peer_incompatible_general(why: &str) -> bool {
    why == "incompatible signing key"
}

/// The fatal alert rustls 0.20 queues with an error it returns: each site
/// calls send_fatal_alert before returning the error (conn.rs,
/// client/*.rs, server/*.rs); rustls 0.20 does not say which it sent.
/// `record_len`: the length of the record being processed; `after_handshake`
/// and `tls13` where it arrived.
fn alert_rustls_sends(error: &Error, server: bool, after_handshake: bool, tls13: bool, record_len: usize) -> Option<u8> {
    use AlertDescription as A;
    Some(match error {
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => A::UnexpectedMessage,
        // A KeyUpdate whose request_update is neither 0 nor 1 (client/tls13.rs,
        // server/tls13.rs handle_key_update): the only such error that fits in a
        // record of one 1-byte handshake message (5 + 4 + 1 + 1 + 16 bytes).
        Error::CorruptMessagePayload(rustls::ContentType::Handshake)
            if after_handshake && tls13 && record_len == 5 + 4 + 1 + 1 + 16 => A::IllegalParameter,
        Error::CorruptMessage | Error::CorruptMessagePayload(_) => A::DecodeError,
        Error::DecryptError => A::BadRecordMac,
        Error::PeerSentOversizedRecord => A::RecordOverflow,
        Error::NoApplicationProtocol => A::NoApplicationProtocol,
        Error::PeerIncompatibleError(why) => match why.as_str() {
            "client did not offer Null compression" | "client didn't support uncompressed ec points" => {
                A::IllegalParameter
            }
            "server sent hrr with unhandled extension" => A::UnsupportedExtension,
            _ if is_version_mismatch(why) => A::ProtocolVersion,
            _ => A::HandshakeFailure,
        },
        Error::PeerMisbehavedError(why) => match why.as_str() {
            // decrypted records (tls13/mod.rs): no alert is sent
            "peer sent bad TLSInnerPlaintext" => return None,
            "illegal middlebox CCS received" | "key epoch or handshake flight with pending fragment"
            | "too much early_data received" => A::UnexpectedMessage,
            "server sent duplicate encrypted extensions" | "server sent duplicate extensions" => A::DecodeError,
            "client sent wrong binder" => A::DecryptError,
            "server chose non-offered ciphersuite" | "server does not support uncompressed points" => {
                A::HandshakeFailure
            }
            "missing key share" => A::MissingExtension,
            "bad cert chain extensions" | "server sent unexpected cleartext ext"
            | "server sent unsolicited extension" => A::UnsupportedExtension,
            _ => A::IllegalParameter,
        },
        Error::NoCertificatesPresented if server => A::CertificateRequired,
        Error::InvalidCertificateEncoding => A::DecodeError,
        Error::InvalidCertificateData(_) | Error::InvalidCertificateSignature
        | Error::InvalidCertificateSignatureType | Error::NoCertificatesPresented => A::BadCertificate,
        _ => return None,
    }
    .get_u8())
}

/// The alert class of an error where it is not the alert rustls sent
/// (lastbyte's corrections; backends/rustls/rustls_engine.cpp lists them).
fn protocol_alert_of(error: &Error, sent: Option<u8>) -> Option<u8> {
    match error {
        // R21: RFC 8446 §5.4 names unexpected_message for a record of padding only.
        Error::PeerMisbehavedError(why) if why == "peer sent bad TLSInnerPlaintext" => {
            Some(AlertDescription::UnexpectedMessage.get_u8())
        }
        _ => sent,
    }
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_new(context: *const LbRustlsContext, user: *mut c_void,
                                            server_name: *const u8, server_name_len: usize, send_sni: i32,
                                            resume: *const u8, resume_len: usize, out: *mut *mut LbRustlsConn,
                                            message: *mut c_char, message_capacity: usize) -> i32 {
    guard(|| {
        if context.is_null() || out.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        *out = ptr::null_mut();
        let context = &*context;
        let resume = bytes(resume, resume_len).to_vec();
        if !resume.is_empty() && split_blob(&resume).is_none() {
            write_message(message, message_capacity, "not a session blob of the rustls backend");
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let made: Result<(Connection, bool), Error> = match &context.configs {
            Configs::Server(config) => ServerConnection::new(config.clone()).map(|c| (c.into(), true)),
            Configs::Client { sni, no_sni } => {
                let name = std::str::from_utf8(bytes(server_name, server_name_len)).unwrap_or("");
                // rustls needs a name even where none is checked (verification off).
                let name = if name.is_empty() { "lastbyte.invalid" } else { name };
                let parsed = match name.parse::<std::net::IpAddr>() {
                    Ok(ip) => Ok(ServerName::IpAddress(ip)),
                    Err(_) => ServerName::try_from(name),
                };
                // A host name webpki refuses (all-digit labels, "123": a DNS name
                // for lastbyte) is checked all the same (Verifier::decide, by the
                // adapter), but rustls 0.20 cannot send it as SNI.
                let (parsed, send_sni) = match parsed {
                    Ok(p) => (p, send_sni),
                    Err(_) => (ServerName::try_from("lastbyte.invalid").expect("a valid DNS name"), 0),
                };
                let config = if send_sni != 0 { sni.clone() } else { no_sni.clone() };
                let current = Current { user, resume: &resume };
                with_current(current, || ClientConnection::new(config, parsed)).map(|c| (c.into(), false))
            }
        };
        match made {
            Ok((conn, server)) => {
                let mut conn = LbRustlsConn {
                    conn,
                    user,
                    push: context.hooks.push,
                    resume,
                    error: None,
                    plaintext: 0,
                    server,
                    selected_alpn: Vec::new(),
                    sent_fatal_alert: None,
                    flight: ServerFlight::default(),
                };
                if let Connection::Server(s) = &mut conn.conn {
                    // Carried in every ticket and cached session: a resumed
                    // server connection finds it again (lb_rustls_conn_info).
                    s.set_resumption_data(b"lastbyte");
                }
                *out = Box::into_raw(Box::new(conn));
                LB_RUSTLS_OK
            }
            Err(e) => {
                write_message(message, message_capacity, &e.to_string());
                LB_RUSTLS_CONFIG_ERROR
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_free(conn: *mut LbRustlsConn) {
    if !conn.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(conn))));
    }
}

/// Feeds ciphertext (whole records) and processes it; pushes what rustls answers.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_feed(conn: *mut LbRustlsConn, data: *const u8, len: usize) -> i32 {
    guard(|| {
        if conn.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &mut *conn;
        if c.error.is_some() {
            return LB_RUSTLS_TLS_ERROR;
        }
        let mut input = bytes(data, len);
        let current = c.current();
        with_current(current, || {
            while !input.is_empty() {
                // Never Ok(0) from a non-empty slice: rustls's EOF path stays unused.
                match c.conn.read_tls(&mut input as &mut dyn Read) {
                    Ok(_) => {}
                    Err(_) => {
                        // The plaintext buffer is full (the core reads first) or the
                        // deframer refused: processing makes room, then go on.
                        if let Err(e) = c.conn.process_new_packets() {
                            return c.fail(e, len);
                        }
                        if c.conn.read_tls(&mut input as &mut dyn Read).is_err() {
                            return c.fail(Error::General("rustls refused the record".into()), len);
                        }
                    }
                }
                match c.conn.process_new_packets() {
                    Ok(state) => c.plaintext = state.plaintext_bytes_to_read(),
                    Err(e) => return c.fail(e, len),
                }
            }
            c.flush();
            LB_RUSTLS_OK
        })
    })
}

/// The transport ended: read_tls from an empty reader, rustls's own EOF path
/// (native mode only: lastbyte's adapter never calls it).
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_eof(conn: *mut LbRustlsConn) -> i32 {
    guard(|| {
        if conn.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &mut *conn;
        if c.error.is_some() {
            return LB_RUSTLS_TLS_ERROR;
        }
        let mut nothing: &[u8] = &[];
        let _ = c.conn.read_tls(&mut nothing as &mut dyn Read);
        let current = c.current();
        with_current(current, || match c.conn.process_new_packets() {
            Ok(state) => {
                c.plaintext = state.plaintext_bytes_to_read();
                c.flush();
                LB_RUSTLS_OK
            }
            Err(e) => c.fail(e, 0),
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_flush(conn: *mut LbRustlsConn) -> i32 {
    guard(|| {
        if conn.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &mut *conn;
        let current = c.current();
        with_current(current, || c.flush());
        LB_RUSTLS_OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_is_handshaking(conn: *const LbRustlsConn) -> i32 {
    guard(|| if conn.is_null() { 0 } else { (*conn).conn.is_handshaking() as i32 })
}

/// Whether the peer's close_notify was processed.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_peer_closed(conn: *mut LbRustlsConn) -> i32 {
    guard(|| {
        if conn.is_null() {
            return 0;
        }
        let c = &mut *conn;
        if c.error.is_some() {
            return 0;
        }
        match c.conn.process_new_packets() {
            Ok(state) => state.peer_has_closed() as i32,
            Err(_) => 0,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_read(conn: *mut LbRustlsConn, out: *mut u8, capacity: usize,
                                             read: *mut usize) -> i32 {
    guard(|| {
        if conn.is_null() || read.is_null() || (out.is_null() && capacity > 0) {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        *read = 0;
        let c = &mut *conn;
        if capacity == 0 {
            return if c.error.is_some() { LB_RUSTLS_TLS_ERROR } else { LB_RUSTLS_OK };
        }
        let buf = slice::from_raw_parts_mut(out, capacity);
        // After an error, the plaintext rustls decrypted before it is still
        // readable, as rustls's own reader gives it; then the error.
        if c.error.is_some() {
            return match c.conn.reader().read(buf) {
                Ok(n) if n > 0 => {
                    *read = n;
                    c.plaintext = c.plaintext.saturating_sub(n);
                    LB_RUSTLS_OK
                }
                _ => LB_RUSTLS_TLS_ERROR,
            };
        }
        match c.conn.reader().read(buf) {
            Ok(0) => LB_RUSTLS_CLOSED,
            Ok(n) => {
                *read = n;
                c.plaintext = c.plaintext.saturating_sub(n);
                LB_RUSTLS_OK
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => LB_RUSTLS_WOULD_BLOCK,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => LB_RUSTLS_UNEXPECTED_EOF,
            Err(_) => LB_RUSTLS_TLS_ERROR,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_pending(conn: *const LbRustlsConn) -> usize {
    catch_unwind(AssertUnwindSafe(|| if conn.is_null() { 0 } else { (*conn).plaintext })).unwrap_or(0)
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_write(conn: *mut LbRustlsConn, data: *const u8, len: usize,
                                              written: *mut usize) -> i32 {
    guard(|| {
        if conn.is_null() || written.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        *written = 0;
        let c = &mut *conn;
        if c.error.is_some() {
            return LB_RUSTLS_TLS_ERROR;
        }
        let n = match c.conn.writer().write(bytes(data, len)) {
            Ok(n) => n,
            Err(_) => return LB_RUSTLS_WOULD_BLOCK,
        };
        *written = n;
        let current = c.current();
        with_current(current, || c.flush());
        if n == 0 {
            LB_RUSTLS_WOULD_BLOCK
        } else {
            LB_RUSTLS_OK
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_send_close_notify(conn: *mut LbRustlsConn) -> i32 {
    guard(|| {
        if conn.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &mut *conn;
        c.conn.send_close_notify();
        let current = c.current();
        with_current(current, || c.flush());
        LB_RUSTLS_OK
    })
}

#[repr(C)]
pub struct LbRustlsInfo {
    pub version: u16, // 0x0303, 0x0304; 0 before the handshake
    pub suite: u16,   // IANA id
    pub alpn: *const u8,
    pub alpn_len: usize,
    pub resumed: i32, // server only; -1 where rustls does not tell (a client)
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_info(conn: *mut LbRustlsConn, info: *mut LbRustlsInfo) -> i32 {
    guard(|| {
        if conn.is_null() || info.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &mut *conn;
        let i = &mut *info;
        i.version = match c.conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => 0x0304,
            Some(ProtocolVersion::TLSv1_2) => 0x0303,
            _ => 0,
        };
        i.suite = c.conn.negotiated_cipher_suite().map(|s| s.suite().get_u16()).unwrap_or(0);
        c.selected_alpn = c.conn.alpn_protocol().map(|p| p.to_vec()).unwrap_or_default();
        i.alpn = c.selected_alpn.as_ptr();
        i.alpn_len = c.selected_alpn.len();
        i.resumed = match &c.conn {
            Connection::Server(s) => (s.received_resumption_data().is_some() || c.flight.resumed_tls12) as i32,
            Connection::Client(_) => -1,
        };
        LB_RUSTLS_OK
    })
}

#[repr(C)]
pub struct LbRustlsFailure {
    pub kind: i32,
    pub alert_received: i32, // -1: none
    pub alert_sent: i32,     // -1: none (the alert rustls queued with the error)
    pub protocol_alert: i32, // -1: none (the alert class of the error)
}

/// The error that ended the connection; its text into `message`.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_conn_failure(conn: *const LbRustlsConn, failure: *mut LbRustlsFailure,
                                                message: *mut c_char, message_capacity: usize) -> i32 {
    guard(|| {
        if conn.is_null() || failure.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let c = &*conn;
        let f = &mut *failure;
        f.kind = 0;
        f.alert_received = -1;
        f.alert_sent = c.sent_fatal_alert.map(i32::from).unwrap_or(-1);
        f.protocol_alert = -1;
        let error = match &c.error {
            Some(e) => e,
            None => return LB_RUSTLS_OK,
        };
        write_message(message, message_capacity, &format!("rustls: {}", error));
        f.kind = match error {
            Error::AlertReceived(alert) => {
                f.alert_received = alert.get_u8() as i32;
                ERROR_KIND_ALERT_RECEIVED
            }
            Error::InvalidCertificateData(_) | Error::InvalidCertificateSignature
            | Error::InvalidCertificateSignatureType | Error::InvalidCertificateEncoding => ERROR_KIND_CERTIFICATE,
            Error::NoCertificatesPresented => ERROR_KIND_NO_CERTIFICATE,
            Error::PeerIncompatibleError(why) if is_version_mismatch(why) => ERROR_KIND_VERSION,
            Error::PeerIncompatibleError(_) => ERROR_KIND_INCOMPATIBLE,
            Error::General(why) if is_peer_incompatible_general(why) => ERROR_KIND_INCOMPATIBLE,
            Error::NoApplicationProtocol => ERROR_KIND_NO_APPLICATION_PROTOCOL,
            Error::General(_) | Error::FailedToGetCurrentTime | Error::FailedToGetRandomBytes | Error::EncryptError
            | Error::HandshakeNotComplete | Error::BadMaxFragmentSize | Error::UnsupportedNameType => {
                ERROR_KIND_LIBRARY
            }
            _ => ERROR_KIND_PROTOCOL,
        };
        f.protocol_alert = protocol_alert_of(error, c.sent_fatal_alert).map(i32::from).unwrap_or(-1);
        LB_RUSTLS_OK
    })
}

// ---- certificates: subjectAltNames --------------------------------------------
// A DER walk to the leaf's subjectAltName extension (RFC 5280 §4.2.1.6), for
// the adapter's host-name check (policy::names_match).

fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = len << 8 | b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn subject_alt_names(der: &[u8], mut each: impl FnMut(u8, &[u8])) -> Option<()> {
    let (_, cert, _) = der_next(der)?; // Certificate
    let (_, tbs, _) = der_next(cert)?; // TBSCertificate
    let mut rest = tbs;
    while !rest.is_empty() {
        let (tag, value, next) = der_next(rest)?;
        rest = next;
        if tag != 0xa3 {
            continue; // [3] extensions
        }
        let (_, mut extensions, _) = der_next(value)?;
        while !extensions.is_empty() {
            let (_, extension, next) = der_next(extensions)?;
            extensions = next;
            let (_, oid, mut fields) = der_next(extension)?;
            if oid != [0x55, 0x1d, 0x11] {
                continue; // 2.5.29.17
            }
            let (mut tag, mut value, next) = der_next(fields)?;
            if tag == 0x01 {
                // critical
                fields = next;
                let parsed = der_next(fields)?;
                tag = parsed.0;
                value = parsed.1;
            }
            if tag != 0x04 {
                return None;
            }
            let (_, mut names, _) = der_next(value)?;
            while !names.is_empty() {
                let (tag, name, next) = der_next(names)?;
                names = next;
                match tag {
                    0x82 => each(2, name), // dNSName
                    0x87 => each(7, name), // iPAddress
                    _ => {}
                }
            }
        }
    }
    Some(())
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_subject_alt_names(der: *const u8, len: usize,
                                                     each: Option<unsafe extern "C" fn(*mut c_void, i32, *const u8,
                                                                                       usize)>,
                                                     user: *mut c_void) -> i32 {
    guard(|| {
        let each = match each {
            Some(f) => f,
            None => return LB_RUSTLS_INVALID_ARGUMENT,
        };
        match subject_alt_names(bytes(der, len), |kind, name| each(user, kind as i32, name.as_ptr(), name.len())) {
            Some(()) => LB_RUSTLS_OK,
            None => LB_RUSTLS_INVALID_ARGUMENT,
        }
    })
}

#[no_mangle]
pub extern "C" fn lb_rustls_version() -> *const c_char {
    b"rustls 0.20.8\0".as_ptr() as *const c_char
}

// ---- the record cipher alone (benchmarks) ----------------------------------------
// ring's AEAD, the cipher rustls's record layer seals and opens with: what
// a record costs with no TLS around it (bench/, the throughput ceiling).

pub struct LbRustlsAead {
    key: ring::aead::LessSafeKey,
}

/// See lastbyte_rustls.h.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_aead_new(chacha20: i32, key: *const u8, key_len: usize,
                                            out: *mut *mut LbRustlsAead) -> i32 {
    guard(|| {
        if out.is_null() || key.is_null() {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        *out = ptr::null_mut();
        let algorithm = if chacha20 != 0 { &ring::aead::CHACHA20_POLY1305 } else { &ring::aead::AES_128_GCM };
        match ring::aead::UnboundKey::new(algorithm, bytes(key, key_len)) {
            Ok(key) => {
                *out = Box::into_raw(Box::new(LbRustlsAead { key: ring::aead::LessSafeKey::new(key) }));
                LB_RUSTLS_OK
            }
            Err(_) => LB_RUSTLS_INVALID_ARGUMENT,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn lb_rustls_aead_free(aead: *mut LbRustlsAead) {
    if !aead.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(aead))));
    }
}

/// Seals `len` bytes in place at `data` and writes the 16-byte tag after them.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_aead_seal(aead: *const LbRustlsAead, nonce: *const u8, aad: *const u8,
                                             aad_len: usize, data: *mut u8, len: usize) -> i32 {
    guard(|| {
        if aead.is_null() || nonce.is_null() || data.is_null() || len > usize::MAX - 16
            || (aad.is_null() && aad_len > 0) {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let nonce = ring::aead::Nonce::assume_unique_for_key(*(nonce as *const [u8; 12]));
        let in_out = slice::from_raw_parts_mut(data, len + 16);
        let (text, tag_out) = in_out.split_at_mut(len);
        match (*aead).key.seal_in_place_separate_tag(nonce, ring::aead::Aad::from(bytes(aad, aad_len)), text) {
            Ok(tag) => {
                tag_out.copy_from_slice(tag.as_ref());
                LB_RUSTLS_OK
            }
            Err(_) => LB_RUSTLS_TLS_ERROR,
        }
    })
}

/// Opens `len` bytes (ciphertext then tag) in place; the plaintext is the
/// first len - 16. LB_RUSTLS_TLS_ERROR: the tag does not authenticate them.
#[no_mangle]
pub unsafe extern "C" fn lb_rustls_aead_open(aead: *const LbRustlsAead, nonce: *const u8, aad: *const u8,
                                             aad_len: usize, data: *mut u8, len: usize) -> i32 {
    guard(|| {
        if aead.is_null() || nonce.is_null() || data.is_null() || len < 16 || (aad.is_null() && aad_len > 0) {
            return LB_RUSTLS_INVALID_ARGUMENT;
        }
        let nonce = ring::aead::Nonce::assume_unique_for_key(*(nonce as *const [u8; 12]));
        let in_out = slice::from_raw_parts_mut(data, len);
        match (*aead).key.open_in_place(nonce, ring::aead::Aad::from(bytes(aad, aad_len)), in_out) {
            Ok(_) => LB_RUSTLS_OK,
            Err(_) => LB_RUSTLS_TLS_ERROR,
        }
    })
}
