//! The recogniser as a service: a WebSocket listener the Menkai server connects to (on
//! loopback when the server starts it, or across the home's network when it runs on a
//! second machine), worker threads over the engine, and per connection the speakers'
//! segmenters. Audio lives only in memory, at most one utterance (8 s) per speaker;
//! nothing is written anywhere, and nothing said is logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use menkai_protocol::captions::{FromRecogniser, ToRecogniser, read_audio};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http};

use crate::engine::{Engine, language};
use crate::pool::{Job, Jobs, Language};
use crate::segment::Segmenter;

/// Speakers one connection may have at once (a server with a few hundred visits).
const MAX_STREAMS: usize = 512;
const STATS_EVERY: Duration = Duration::from_secs(2);

type Outboxes = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<FromRecogniser>>>>;

pub struct Service {
    engine: Arc<Engine>,
    jobs: Jobs,
    workers: usize,
    secret: String,
    outboxes: Outboxes,
    next_conn: AtomicU64,
}

impl Service {
    /// Starts `workers` recognition threads over `engine`.
    pub fn start(engine: Engine, workers: usize, secret: String) -> Arc<Self> {
        let service = Arc::new(Self {
            engine: Arc::new(engine),
            jobs: Jobs::default(),
            workers,
            secret,
            outboxes: Arc::default(),
            next_conn: AtomicU64::new(1),
        });
        for n in 0..workers {
            let (engine, jobs, outboxes) = (
                service.engine.clone(),
                service.jobs.clone(),
                service.outboxes.clone(),
            );
            let spawned = std::thread::Builder::new()
                .name(format!("recognise-{n}"))
                .spawn(move || work(&engine, &jobs, &outboxes));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a recognition thread");
            }
        }
        service
    }

    /// Accepts connections until `stop` resolves.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => { tokio::spawn(self.clone().connection(stream)); }
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                () = &mut stop => break,
            }
        }
        self.jobs.close();
    }

    // The handshake callback's error type is tungstenite's (an HTTP response).
    #[allow(clippy::result_large_err)]
    async fn connection(self: Arc<Self>, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let secret = self.secret.clone();
        let check = move |request: &Request,
                          response: Response|
              -> Result<Response, ErrorResponse> {
            let given = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if crate::same_secret(given, &secret) {
                Ok(response)
            } else {
                let mut refused = ErrorResponse::new(Some("a recogniser secret is needed".into()));
                *refused.status_mut() = http::StatusCode::UNAUTHORIZED;
                Err(refused)
            }
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(64 * 1024))
            .max_frame_size(Some(64 * 1024));
        let socket = match tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            check,
            Some(config),
        )
        .await
        {
            Ok(socket) => socket,
            Err(e) => {
                tracing::warn!(error = %e, "a connection without the recogniser's secret, refused");
                return;
            }
        };
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.outboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn, tx.clone());
        tracing::info!(conn, "the server connected");
        let (mut sink, mut source) = socket.split();
        let _ = tx.send(FromRecogniser::Ready {
            model: self.engine.name().to_owned(),
            workers: self.workers,
        });
        let jobs = self.jobs.clone();
        let writer = tokio::spawn(async move {
            let mut last_final: HashMap<u64, u64> = HashMap::new();
            let mut stats = tokio::time::interval(STATS_EVERY);
            loop {
                let frame = tokio::select! {
                    frame = rx.recv() => match frame { Some(frame) => frame, None => break },
                    _ = stats.tick() => FromRecogniser::Stats(jobs.stats()),
                };
                // Two workers may finish one speaker's jobs out of order: a partial is
                // never shown after its utterance's final.
                if let FromRecogniser::Text {
                    stream,
                    seq,
                    is_final,
                    ..
                } = &frame
                {
                    let done = last_final.get(stream).copied().unwrap_or(0);
                    if *seq <= done {
                        continue;
                    }
                    if *is_final {
                        // Streams come and go for the life of the connection (a new
                        // one per pause): forget them all now and then (the devices
                        // also ignore a partial after its final).
                        if last_final.len() >= 4 * MAX_STREAMS {
                            last_final.clear();
                        }
                        last_final.insert(*stream, *seq);
                    }
                }
                let Ok(text) = serde_json::to_string(&frame) else {
                    continue;
                };
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let mut streams: HashMap<u64, (Segmenter, Language)> = HashMap::new();
        while let Some(Ok(message)) = source.next().await {
            match message {
                Message::Binary(frame) => {
                    let Some((stream, samples)) = read_audio(&frame) else {
                        continue;
                    };
                    let Some((segmenter, lang)) = streams.get_mut(&stream) else {
                        continue;
                    };
                    for cut in segmenter.push(&samples) {
                        self.jobs.push(Job {
                            stream: (conn, stream),
                            lang: lang.clone(),
                            cut,
                            queued: Instant::now(),
                        });
                    }
                }
                Message::Text(text) => match serde_json::from_str::<ToRecogniser>(&text) {
                    Ok(ToRecogniser::Open { stream, lang })
                        if streams.len() < MAX_STREAMS || streams.contains_key(&stream) =>
                    {
                        streams.insert(
                            stream,
                            (Segmenter::default(), Language::new(language(&lang))),
                        );
                    }
                    Ok(ToRecogniser::Close { stream }) => {
                        streams.remove(&stream);
                        self.jobs.forget((conn, stream));
                    }
                    _ => tracing::warn!(conn, "an unknown or refused frame from the server"),
                },
                Message::Close(_) => break,
                _ => {}
            }
        }
        for stream in streams.keys() {
            self.jobs.forget((conn, *stream));
        }
        self.outboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&conn);
        drop(tx);
        writer.abort();
        tracing::info!(conn, "the server disconnected");
    }
}

/// One worker thread: take a job, recognise it, hand the text to its connection.
fn work(engine: &Engine, jobs: &Jobs, outboxes: &Outboxes) {
    while let Some(job) = jobs.take() {
        let started = Instant::now();
        // A whole utterance: Whisper says which language it is (the page's language
        // is only a guess: a grandchild abroad may read English and speak Japanese).
        let lang = (!job.cut.is_final).then(|| job.lang.get());
        let text = match engine.recognise(&job.cut.samples, lang, job.cut.is_final) {
            Ok(Some((text, heard))) => {
                job.lang.set(heard);
                Some(text)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "recognition failed");
                None
            }
        };
        jobs.done(job.cut.is_final, started.elapsed(), text.is_none());
        let (conn, stream) = job.stream;
        // An empty final still goes out: it takes back a partial already shown.
        let Some(text) = text.or_else(|| job.cut.is_final.then(String::new)) else {
            continue;
        };
        let outbox = outboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&conn)
            .cloned();
        if let Some(outbox) = outbox {
            let _ = outbox.send(FromRecogniser::Text {
                stream,
                seq: job.cut.seq,
                text,
                is_final: job.cut.is_final,
            });
        }
    }
}
