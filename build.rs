//! `refinery::embed_migrations!` reads `migrations/` while the crate
//! compiles; cargo would not notice a new file there and keep a binary
//! without it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
