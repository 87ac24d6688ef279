//! Deterministic synthetic listing files: the same seed gives the same
//! files, byte for byte.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::{COLUMNS, Result};

/// SplitMix64: tiny, fast, good enough for test data, and reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n small: the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const BRANDS: &[&str] = &[
    "Acme",
    "Nordlys",
    "Kestrel",
    "Bramble & Co",
    "Vantage",
    "Orchid",
    "Solano",
    "Tidewater",
    "Hearthstone",
    "Lumen",
    "Pioneer",
    "Marlowe",
];
const ADJECTIVES: &[&str] = &[
    "Vintage",
    "Handmade",
    "Wireless",
    "Stainless",
    "Organic",
    "Compact",
    "Leather",
    "Ceramic",
    "Waterproof",
    "Adjustable",
    "Foldable",
    "Classic",
    "Heavy-Duty",
    "Rechargeable",
];
const NOUNS: &[&str] = &[
    "Messenger Bag",
    "Desk Lamp",
    "Coffee Grinder",
    "Headphones",
    "Water Bottle",
    "Chef Knife",
    "Throw Blanket",
    "Phone Case",
    "Plant Pot",
    "Backpack",
    "Wall Clock",
    "Tea Kettle",
    "Camping Chair",
    "Bookshelf Speaker",
];
const COLOURS: &[&str] = &[
    "Black",
    "White",
    "Navy",
    "Olive",
    "Rust",
    "Grey",
    "Sand",
    "Forest Green",
    "Burgundy",
];
const SIZES: &[&str] = &[
    "Small", "Medium", "Large", "XL", "12 inch", "15\"", "1 L", "500 ml",
];
const SENTENCES: &[&str] = &[
    "Carefully packed and shipped within 2 business days.",
    "Made from durable, easy-to-clean materials.",
    "Measures 15\" x 10\" x 4\", weight 1.2 lb.",
    "Comes with the original box, manual and a 12-month warranty.",
    "Gently used, minor scuffs on the base; see photos.",
    "Our \"best seller\" for three years running!",
    "Fits most standard setups, no tools required.",
    "Colour may vary slightly from the photos, depending on your screen.",
    "Dishwasher safe, BPA free, and fully recyclable.",
    "Bundle discount: buy 2, get 10% off.",
    "Returns accepted within 30 days, buyer pays return shipping.",
    "Ships from our warehouse in Portland, OR.",
];
const CONDITIONS: &[&str] = &[
    "New",
    "New",
    "New",
    "Used",
    "Used - Like New",
    "Refurbished",
];
const CATEGORIES: &[&str] = &[
    "Home & Garden > Kitchen",
    "Electronics > Audio",
    "Clothing, Shoes & Accessories > Bags",
    "Sporting Goods > Camping",
    "Home & Garden > Decor",
    "Electronics > Phone Accessories",
    "Books & Media",
];

#[derive(Clone)]
struct Row {
    sku: String,
    title: String,
    description: String,
    price_cents: u64,
    quantity: u64,
    status: &'static str,
    condition: &'static str,
    category: &'static str,
    listing_number: u64,
    end_date: String,
}

/// Row `i` of the file, the same for every run with the same seed.
fn make_row(seed: u64, i: u64) -> Row {
    let mut r = Rng::new(mix(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)));
    let title = format!(
        "{} {} {}, {} {}",
        r.pick(BRANDS),
        r.pick(ADJECTIVES),
        r.pick(NOUNS),
        r.pick(COLOURS),
        r.pick(SIZES)
    );
    let mut description = String::with_capacity(260);
    while description.len() < 170 {
        if !description.is_empty() {
            description.push(' ');
        }
        description.push_str(r.pick(SENTENCES));
    }
    Row {
        sku: format!("BENCH-{i:08}"),
        title,
        description,
        price_cents: 100 + r.below(99_900),
        quantity: r.below(501),
        status: if r.below(5) == 0 { "draft" } else { "active" },
        condition: r.pick(CONDITIONS),
        category: r.pick(CATEGORIES),
        listing_number: 100_000_000_000 + r.below(900_000_000_000),
        end_date: format!(
            "2027-{:02}-{:02}T{:02}:{:02}:00Z",
            1 + r.below(12),
            1 + r.below(28),
            r.below(24),
            r.below(60)
        ),
    }
}

/// Whether row `i` changes in the second file, and how (exactly one field).
fn change(seed: u64, fraction: f64, i: u64, row: &mut Row) -> bool {
    let h = mix(seed.rotate_left(17) ^ 0xA076_1D64_78BD_642F ^ i);
    // Top 53 bits as a uniform fraction in [0, 1).
    if ((h >> 11) as f64 / (1u64 << 53) as f64) >= fraction {
        return false;
    }
    match h % 3 {
        0 => row.price_cents += 100,
        1 => row.quantity = (row.quantity + 1) % 501,
        _ => row.title.push_str(" (2nd edition)"),
    }
    true
}

fn write_field(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

fn write_row(out: &mut impl Write, row: &Row) -> std::io::Result<()> {
    write_field(out, &row.sku)?;
    out.write_all(b",")?;
    write_field(out, &row.title)?;
    out.write_all(b",")?;
    write_field(out, &row.description)?;
    write!(
        out,
        ",{}.{:02},USD,{},{},",
        row.price_cents / 100,
        row.price_cents % 100,
        row.quantity,
        row.status
    )?;
    write_field(out, row.condition)?;
    out.write_all(b",")?;
    write_field(out, row.category)?;
    writeln!(out, ",{},{}", row.listing_number, row.end_date)
}

/// Writes `rows` rows to `new` and the same rows with a `fraction` of them
/// changed to `changed`; returns how many rows differ in the second.
pub fn generate(rows: u64, fraction: f64, seed: u64, new: &Path, changed: &Path) -> Result<u64> {
    let mut a = BufWriter::with_capacity(1 << 20, File::create(new)?);
    let mut b = BufWriter::with_capacity(1 << 20, File::create(changed)?);
    writeln!(a, "{COLUMNS}")?;
    writeln!(b, "{COLUMNS}")?;
    let mut n_changed = 0;
    for i in 0..rows {
        let mut row = make_row(seed, i);
        write_row(&mut a, &row)?;
        if change(seed, fraction, i, &mut row) {
            n_changed += 1;
        }
        write_row(&mut b, &row)?;
    }
    a.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    b.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n_changed)
}
