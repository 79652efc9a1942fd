//! uniffi's command-line generator, built from the same uniffi version as `mobile-bindings`:
//! `cargo uniffi-bindgen generate <library> --language kotlin …` (see docs/mobile.md).

fn main() {
    uniffi::uniffi_bindgen_main()
}
