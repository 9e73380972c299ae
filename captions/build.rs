//! Where the recogniser finds CTranslate2 at run time when built here: the folder
//! scripts/captions-deps fills (as RUNPATH, which LD_LIBRARY_PATH overrides: the
//! server points that at the data directory's copy, which `menkai captions install`
//! put there).

fn main() {
    println!("cargo:rerun-if-env-changed=CMAKE_LIBRARY_PATH");
    let Some(dir) = std::env::var_os("CMAKE_LIBRARY_PATH") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    if !dir.join("libctranslate2.so").exists() {
        println!(
            "cargo:warning=CTranslate2 is not in {}: run scripts/captions-deps first",
            dir.display()
        );
    }
    // Also said here, whether or not the folder exists yet: ct2rs's build script adds
    // it only if it exists when it runs, and its output is reused by later builds (a
    // `cargo clippy` before scripts/captions-deps would leave it out for good).
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}
