//! Regenerates include/sse.h from the Rust sources with cbindgen, and gives
//! the shared library its SONAME (`libsse.so.MAJOR`) on Linux.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    // The header is generated from the whole crate: watch all of src/.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    soname();
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let version =
        |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).expect("cargo sets this");
    config.after_includes = Some(format!(
        "\n#define SSE_VERSION_MAJOR {}\n#define SSE_VERSION_MINOR {}\n#define SSE_VERSION_PATCH {}\n#define SSE_VERSION_STRING \"{}\"",
        version("MAJOR"),
        version("MINOR"),
        version("PATCH"),
        env::var("CARGO_PKG_VERSION").expect("cargo sets this"),
    ));
    match cbindgen::generate_with_config(&crate_dir, config) {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/sse.h"));
        }
        Err(error) => println!("cargo:warning=cbindgen could not generate include/sse.h: {error}"),
    }
}

/// Linux: the cdylib records `libsse.so.MAJOR` as its SONAME, so programs
/// linked against it need `libsse.so.0`, not the unversioned development
/// link. `make install` installs `libsse.so.MAJOR.MINOR.PATCH` with the
/// `libsse.so.MAJOR` and `libsse.so` links. In the build directory
/// (target/<profile>/) the `libsse.so.MAJOR -> libsse.so` link is created
/// here, so programs linked with `-Ltarget/release -lsse` and an rpath run
/// from the checkout too.
fn soname() {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets this");
    let soname = format!("libsse.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this"));
    if let Some(profile_dir) = out.ancestors().nth(3) {
        let link = profile_dir.join(&soname);
        if std::fs::symlink_metadata(&link).is_err() {
            #[cfg(unix)]
            if let Err(error) = std::os::unix::fs::symlink("libsse.so", &link) {
                println!("cargo:warning=could not create {}: {error}", link.display());
            }
        }
    }
}
