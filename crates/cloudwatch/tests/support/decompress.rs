//! Reads back what `fetch` wrote: plain, gzip (`.gz`) or zstd (`.zst`) by the file's name. Shared
//! by the CloudWatch crate's moto tests and the command-line tests (`tests/cloudwatch_cli.rs`).

use std::io::Read;
use std::path::Path;

/// The text of the file at `path`, decompressed as its name says.
pub fn decompress(path: &Path) -> String {
    let raw = std::fs::read(path).expect("read");
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .expect("gzip");
        s
    } else if name.ends_with(".zst") {
        String::from_utf8(zstd::decode_all(&raw[..]).expect("zstd")).expect("utf-8")
    } else {
        String::from_utf8(raw).expect("utf-8")
    }
}
