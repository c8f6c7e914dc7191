//! Regenerates include/sse.h from the Rust sources with cbindgen.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    // The header is generated from the whole crate: watch all of src/.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
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
