//! `menkai-captions`: the recogniser process. `menkai serve` starts it (`serve`) when a
//! recogniser is installed; `check`, `transcribe` and `bench` are for operators and the
//! benchmark (scripts/captions-bench).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use menkai_captions::engine::Engine;
use menkai_captions::segment::Segmenter;
use menkai_captions::service::Service;
use menkai_protocol::captions::score;

#[derive(Parser)]
#[command(
    name = "menkai-captions",
    version,
    about = "Menkai's speech recogniser for live captions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Recognise for a Menkai server: listen, print `listening on ADDRESS`, serve.
    Serve {
        /// A CTranslate2 Whisper model directory (`menkai captions install` puts one in
        /// DATA/captions/model).
        #[arg(long)]
        model: PathBuf,
        /// Where to listen; port 0 picks a free one. Another machine: 0.0.0.0:7447.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Recognition threads (one core each): about two visits speaking at once each.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// The shared secret the server must present (at least 16 characters).
        #[arg(long, env = "MENKAI_CAPTIONS_SECRET", hide_env_values = true)]
        secret: String,
        /// Stop when standard input closes (the server that started it is gone).
        #[arg(long)]
        exit_with_stdin: bool,
    },
    /// Load a model and recognise a second of silence: prints `ok` or why not.
    Check {
        #[arg(long)]
        model: PathBuf,
    },
    /// Print what is said in a 16 kHz mono WAV file, utterance by utterance.
    Transcribe {
        #[arg(long)]
        model: PathBuf,
        /// "ja" or "en"; left out, Whisper tells which of the two it hears.
        #[arg(long)]
        lang: Option<String>,
        file: PathBuf,
    },
    /// Error rates and speed on a test set made by scripts/captions-testset.
    Bench {
        #[arg(long)]
        model: PathBuf,
        set: PathBuf,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            model,
            listen,
            workers,
            secret,
            exit_with_stdin,
        } => {
            if secret.len() < 16 {
                bail!("MENKAI_CAPTIONS_SECRET must be at least 16 characters");
            }
            let workers = workers.clamp(1, 64);
            let engine = Engine::load(&model, workers)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                // The one line the server reads to find us.
                println!("listening on {}", listener.local_addr()?);
                tracing::info!(model = %engine.name(), workers, "recogniser ready");
                let service = Service::start(engine, workers, secret);
                let stop = async move {
                    let stdin_closed = async {
                        if exit_with_stdin {
                            let _ = tokio::task::spawn_blocking(|| {
                                let mut line = String::new();
                                while std::io::stdin()
                                    .lock()
                                    .read_line(&mut line)
                                    .is_ok_and(|n| n > 0)
                                {
                                    line.clear();
                                }
                            })
                            .await;
                        } else {
                            std::future::pending::<()>().await;
                        }
                    };
                    tokio::select! {
                        () = menkai_shutdown::signal() => {},
                        () = stdin_closed => {},
                    }
                };
                service.serve(listener, stop).await;
                Ok::<(), anyhow::Error>(())
            })
        }
        Command::Check { model } => {
            let engine = Engine::load(&model, 1)?;
            engine.recognise(&vec![0.0; 16_000], Some("ja"), true)?;
            println!("ok {}", engine.name());
            Ok(())
        }
        Command::Transcribe { model, lang, file } => {
            let engine = Engine::load(&model, 1)?;
            for (text, took) in utterances(&engine, &read_wav(&file)?, lang.as_deref())? {
                println!("{:>5} ms  {text}", took.as_millis());
            }
            Ok(())
        }
        Command::Bench { model, set } => bench(&model, &set),
    }
}

/// A 16 kHz mono 16-bit WAV file's samples.
fn read_wav(path: &Path) -> Result<Vec<i16>> {
    let mut reader =
        hound::WavReader::open(path).with_context(|| format!("reading {}", path.display()))?;
    let spec = reader.spec();
    if spec.sample_rate != 16_000 || spec.channels != 1 || spec.bits_per_sample != 16 {
        bail!("{}: 16 kHz mono 16-bit WAV expected", path.display());
    }
    Ok(reader.samples::<i16>().collect::<Result<_, _>>()?)
}

/// The product's path over a file: 100 ms frames through the segmenter, each final
/// recognised. Returns the texts and what each took.
fn utterances(
    engine: &Engine,
    samples: &[i16],
    lang: Option<&str>,
) -> Result<Vec<(String, std::time::Duration)>> {
    let mut segmenter = Segmenter::default();
    let mut out = vec![];
    // A second of quiet after the file ends its last utterance.
    let tail = vec![0i16; 16_000];
    for chunk in samples.chunks(1600).chain(tail.chunks(1600)) {
        for cut in segmenter.push(chunk).into_iter().filter(|c| c.is_final) {
            let started = Instant::now();
            if let Some((text, _)) = engine.recognise(&cut.samples, lang, true)? {
                out.push((text, started.elapsed()));
            }
        }
    }
    Ok(out)
}

/// Reads SET/sentences.tsv (`id<TAB>lang<TAB>text`) and, per variant folder (clean,
/// opus, noisy), `ID.wav`; prints each variant's error rates and real-time factor.
fn bench(model: &Path, set: &Path) -> Result<()> {
    let engine = Engine::load(model, 1)?;
    let list = std::fs::read_to_string(set.join("sentences.tsv"))?;
    let sentences: Vec<(&str, &str, &str)> = list
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .collect();
    println!("model {}, {} sentences", engine.name(), sentences.len());
    for variant in ["clean", "opus", "noisy"] {
        // Japanese as written, English words, Japanese as read aloud.
        let (mut totals, mut audio, mut work) = ([(0usize, 0usize); 3], 0.0, 0.0);
        for (id, lang, reference) in &sentences {
            let samples = read_wav(&set.join(variant).join(format!("{id}.wav")))?;
            let started = Instant::now();
            // As the service does for each whole utterance: the language is heard.
            let heard: Vec<String> = utterances(&engine, &samples, None)?
                .into_iter()
                .map(|(t, _)| t)
                .collect();
            work += started.elapsed().as_secs_f64();
            audio += samples.len() as f64 / 16_000.0;
            let hypothesis = heard.join(if *lang == "en" { " " } else { "" });
            let (e, n) = score::errors(lang, reference, &hypothesis);
            let slot = usize::from(*lang == "en");
            totals[slot].0 += e;
            totals[slot].1 += n;
            let read = if *lang == "en" {
                (0, 0)
            } else {
                score::reading_errors(reference, &hypothesis)
                    .context("running mecab (Debian: mecab mecab-ipadic-utf8)")?
            };
            totals[2].0 += read.0;
            totals[2].1 += read.1;
            if std::env::var_os("MENKAI_BENCH_VERBOSE").is_some() {
                println!(
                    "  {variant} {id} [{e}/{n}, read {}/{}] {reference} → {hypothesis}",
                    read.0, read.1
                );
            }
        }
        let rate = |(e, n): (usize, usize)| 100.0 * e as f64 / n.max(1) as f64;
        println!(
            "{variant:>6}: Japanese CER {:.1} % as written ({} chars), {:.1} % as read ({} kana); English WER {:.1} % ({} words); real-time factor {:.3}",
            rate(totals[0]),
            totals[0].1,
            rate(totals[2]),
            totals[2].1,
            rate(totals[1]),
            totals[1].1,
            work / audio.max(1e-9)
        );
    }
    Ok(())
}
