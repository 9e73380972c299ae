//! Password hashing under a fixed memory budget.
//!
//! Each argon2id check needs ~19 MiB on purpose (that is what makes guessing slow).
//! Run freely on the async runtime's blocking threads, 128 parallel login posts from
//! anyone on the internet took the server past 2 GB, and even sequential checks left
//! 180–280 MB resident because every hash allocated afresh and the allocator kept the
//! memory per thread. So hashing happens only here: a few worker threads, each owning
//! one reusable block buffer, fed by a short queue. When the queue is full the caller
//! is told at once ([`Busy`]) instead of waiting or allocating.

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::tokens;

/// Longest password accepted: longer ones never reach argon2 (it would hash them, but
/// a megabyte password is an attack, not a password).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Largest memory cost a stored hash may ask for (64 MiB): a hand-edited database
/// must not be able to make one check allocate gigabytes.
const MAX_M_COST_KIB: u32 = 64 * 1024;

/// All workers are busy and the queue is full: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

enum Job {
    Verify {
        password: String,
        phc: String,
        reply: oneshot::Sender<bool>,
    },
    Hash {
        password: String,
        reply: oneshot::Sender<anyhow::Result<String>>,
    },
}

/// The pool's handle; cheap to clone. Workers stop when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct Passwords {
    jobs: SyncSender<Job>,
}

impl Passwords {
    /// `workers` threads (each keeps one ~19 MiB buffer), and room for `queue` more
    /// requests waiting.
    pub fn new(workers: usize, queue: usize) -> anyhow::Result<Passwords> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..workers.max(1) {
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    let mut worker = Worker::default();
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => worker.run(job),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Passwords { jobs })
    }

    /// Sized to the machine: one worker per core, at most four; a queue of two per
    /// worker, so an excess attempt waits at most about two hash times or is refused.
    pub fn for_this_machine() -> anyhow::Result<Passwords> {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        let workers = cores.clamp(1, 4);
        Self::new(workers, workers * 2)
    }

    /// Whether `password` matches the stored PHC string. A malformed hash, or a
    /// password over [`MAX_PASSWORD_BYTES`], never matches (and still costs one hash,
    /// so the answer takes as long either way).
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password: password.to_owned(),
            phc: phc.to_owned(),
            reply,
        })?;
        Ok(answer.await.unwrap_or(false))
    }

    /// A new PHC string for `password` (argon2id, default parameters, random salt).
    pub async fn hash(&self, password: &str) -> Result<anyhow::Result<String>, Busy> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            password: password.to_owned(),
            reply,
        })?;
        Ok(answer
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("password worker stopped"))))
    }

    fn submit(&self, job: Job) -> Result<(), Busy> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// One worker's reusable memory.
#[derive(Default)]
struct Worker {
    blocks: Vec<Block>,
}

impl Worker {
    fn run(&mut self, job: Job) {
        match job {
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                let _ = reply.send(self.verify(&password, &phc));
            }
            Job::Hash { password, reply } => {
                let _ = reply.send(self.hash(&password));
            }
        }
    }

    fn verify(&mut self, password: &str, phc: &str) -> bool {
        let stored = PasswordHash::new(phc).ok().and_then(|h| {
            let params = Params::try_from(&h).ok()?;
            let algorithm = Algorithm::try_from(h.algorithm.as_str()).ok()?;
            let version = Version::try_from(h.version.unwrap_or(0x13)).ok()?;
            Some((algorithm, version, params, h.salt?, h.hash?))
        });
        let Some((algorithm, version, params, salt, expected)) =
            stored.filter(|s| s.2.m_cost() <= MAX_M_COST_KIB)
        else {
            // Spend the same time as a real check: no hint that the hash was odd.
            let _ = self.hash(password);
            return false;
        };
        let long = password.len() > MAX_PASSWORD_BYTES;
        let pwd = if long { &[][..] } else { password.as_bytes() };
        let mut out = vec![0u8; expected.len()];
        let ok = self
            .compute(algorithm, version, params, pwd, &salt, &mut out)
            .is_ok();
        ok && !long && tokens::constant_time_eq(&out, expected.as_bytes())
    }

    fn hash(&mut self, password: &str) -> anyhow::Result<String> {
        anyhow::ensure!(password.len() <= MAX_PASSWORD_BYTES, "password too long");
        let params = Params::default();
        let salt = Salt::generate();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
            password.as_bytes(),
            &salt,
            &mut out,
        )?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)
                .map_err(|e| anyhow::anyhow!("encoding argon2 parameters: {e}"))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
        };
        Ok(phc.to_string())
    }

    /// One argon2 run in this worker's buffer (grown once if a stored hash needs more).
    fn compute(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        pwd: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> anyhow::Result<()> {
        let blocks = params.block_count();
        if self.blocks.len() < blocks {
            self.blocks.resize(blocks, Block::default());
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(pwd, salt, out, &mut self.blocks[..blocks])
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pool = Passwords::new(1, 4).unwrap();
        let phc = pool.hash("correct horse battery").await.unwrap().unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(pool.verify("correct horse battery", &phc).await.unwrap());
        assert!(!pool.verify("correct horse batterY", &phc).await.unwrap());
        assert!(!pool.verify("x", "not a hash").await.unwrap());
        let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(!pool.verify(&long, &phc).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let phc = Argon2::default()
            .hash_password(b"an older account")
            .unwrap()
            .to_string();
        let pool = Passwords::new(1, 1).unwrap();
        assert!(pool.verify("an older account", &phc).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = Passwords::new(1, 1).unwrap();
        let phc = pool.hash("some password here").await.unwrap().unwrap();
        let checks: Vec<_> = (0..8).map(|_| pool.verify("guess", &phc)).collect();
        let results = futures_util::future::join_all(checks).await;
        assert!(results.contains(&Err(Busy)), "{results:?}");
        assert!(results.contains(&Ok(false)));
    }
}
