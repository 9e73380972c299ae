//! TLS for tests: a certificate authority of the test's own, certificate files,
//! clients that trust it (also from another loopback address), and Debian's pebble,
//! an ACME CA on loopback.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tokio::process::{Child, Command};

/// A certificate authority of the test's own.
pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (DNS names or IP addresses) with `key`: (cert, key) PEM.
    pub fn leaf(&self, names: &[&str], key: KeyPair) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (cert.pem(), key.serialize_pem())
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA");
        path
    }
}

pub fn ecdsa() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key")
}

pub fn ed25519() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key")
}

/// ring cannot generate RSA keys; openssl (on every Debian machine) can.
pub fn rsa(dir: &Path) -> KeyPair {
    let path = dir.join("rsa.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl made an RSA key");
    KeyPair::from_pem(&std::fs::read_to_string(path).expect("key")).expect("RSA key")
}

/// Writes a pair where the server reads it; the key first, as renewal tools do.
pub fn install(cert_path: &Path, key_path: &Path, (cert, key): &(String, String)) {
    std::fs::write(key_path, key).expect("key");
    std::fs::write(cert_path, cert).expect("cert");
}

/// A certificate and key in files of their own, as `--tls-cert`/`--tls-key` read them.
pub struct CertFiles {
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    pub fn new(pair: &(String, String)) -> CertFiles {
        let dir = tempfile::tempdir().expect("dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        install(&cert, &key, pair);
        CertFiles { dir, cert, key }
    }

    /// `menkai serve` flags for these files, then `more`.
    pub fn flags<'a>(&'a self, more: &[&'a str]) -> Vec<&'a str> {
        let mut flags = vec![
            "--tls-cert",
            self.cert.to_str().expect("path"),
            "--tls-key",
            self.key.to_str().expect("path"),
        ];
        flags.extend_from_slice(more);
        flags
    }
}

/// An HTTPS client that trusts only `ca_pem`, and finds `name` at `addr`.
pub fn https_client(ca_pem: &str, resolve: Option<(&str, SocketAddr)>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA"))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some((name, addr)) = resolve {
        builder = builder.resolve(name, addr);
    }
    builder.build().expect("client")
}

/// A TLS client that trusts only `ca_pem`, offering `alpn`.
pub fn tls_connector(ca_pem: &str, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA")).expect("root");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `menkai.test` at `addr` from the loopback address `from` (a
/// test's stand-in for another client's address), trusting `ca_pem`, offering `alpn`.
pub async fn tls_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    ca_pem: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tcp_from(from, addr).await;
    tls_connector(ca_pem, alpn)
        .connect(ServerName::try_from("menkai.test").expect("name"), tcp)
        .await
        .expect("TLS handshake")
}

/// A TCP connection to `addr` from the loopback address `from`.
pub async fn tcp_from(from: std::net::IpAddr, addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(addr).await.expect("connect")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Debian's pebble (an RFC 8555 test CA) and its DNS stand-in, started for one test and
/// stopped with it.
pub struct Pebble {
    pub directory: String,
    /// The CA that signed pebble's own HTTPS listener (for `--acme-root`).
    pub listener_ca: PathBuf,
    management: String,
    listener_ca_pem: String,
    _processes: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Pebble {
    /// Validations go to `tls_port` on 127.0.0.1 (where every name resolves).
    pub async fn start(tls_port: u16) -> Pebble {
        for program in ["pebble", "pebble-challtestsrv"] {
            assert!(
                which(program),
                "{program} is not installed: scripts/test installs Debian's pebble package"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        let ca = TestCa::new("pebble listener CA");
        let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"], ecdsa());
        std::fs::write(dir.path().join("cert.pem"), cert).expect("cert");
        std::fs::write(dir.path().join("key.pem"), key).expect("key");
        let listener_ca = ca.write(dir.path());
        let (acme, management, dns) = (free_port(), free_port(), free_port());
        let config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": free_port(),
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).expect("config");
        let dns_server = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("pebble-challtestsrv starts");
        let pebble = Command::new("pebble")
            .args(["-config"])
            .arg(&config_path)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("pebble starts");
        let directory = format!("https://127.0.0.1:{acme}/dir");
        let client = https_client(&ca.pem, None);
        super::until(StdDuration::from_secs(20), "pebble answers", || async {
            client
                .get(&directory)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
                .then_some(())
        })
        .await;
        Pebble {
            directory,
            listener_ca,
            management: format!("https://127.0.0.1:{management}"),
            listener_ca_pem: ca.pem,
            _processes: vec![dns_server, pebble],
            _dir: dir,
        }
    }

    /// The root pebble issues certificates under (new at every start).
    pub async fn issuing_root(&self) -> String {
        https_client(&self.listener_ca_pem, None)
            .get(format!("{}/roots/0", self.management))
            .send()
            .await
            .expect("roots")
            .text()
            .await
            .expect("pem")
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
