//! `-f s3://BUCKET/PREFIX` on the command line: the objects under the prefix listed through
//! `ktrail-s3` and read, in key order, through the same scan as files, into the same collector.
//! Region, profile and `--concurrency` are the CloudWatch options'; the endpoint resolves the
//! standard AWS way (`AWS_ENDPOINT_URL_S3`).

use anyhow::Result;

use ktrail_core::collect::Collector;
use ktrail_core::scan::{self, ScanOptions};
use ktrail_s3::{Client, Objects, Progress, S3Source, S3Url};

use super::DiagnosticPrinter;
use crate::options::Inputs;

/// A runtime and a client, made when the first S3 location is read and shared by the others.
#[derive(Default)]
pub struct S3Reader {
    conn: Option<(tokio::runtime::Runtime, Client)>,
}

impl S3Reader {
    /// Reads every object under `location` into `collector`.
    pub fn read(
        &mut self,
        location: &str,
        input: &Inputs,
        collector: &mut Collector,
        opts: &ScanOptions,
        printer: &mut DiagnosticPrinter,
    ) -> Result<()> {
        let url = S3Url::parse(location)?;
        let (rt, client) = match &mut self.conn {
            Some(c) => c,
            None => {
                let rt = ktrail_s3::runtime()?;
                let client = rt.block_on(source(input).client())?;
                self.conn.insert((rt, client))
            }
        };
        let sel = collector.selection();
        let listing = rt.block_on(ktrail_s3::list(client, &url, sel.since, sel.until))?;
        let bytes = listing.objects.iter().map(|o| o.size).sum();
        let progress = Progress::new(listing.objects.len() as u64, bytes);
        let mut objects = Objects::start(
            rt.handle(),
            client,
            &url,
            listing.objects,
            source(input).concurrency,
            &progress,
        );
        let result = (|| -> Result<()> {
            while let Some(next) = objects.next_object() {
                let (key, body) = next?;
                scan::scan_raw(
                    Box::new(body),
                    &mut scan::Feed {
                        origin: &url.object(&key),
                        engine: collector,
                        opts,
                        on_bad: &mut |d| printer.print(d),
                    },
                )?;
            }
            Ok(())
        })();
        progress.finish();
        result
    }
}

fn source(input: &Inputs) -> S3Source {
    S3Source {
        region: input.cloudwatch.region.clone(),
        profile: input.cloudwatch.profile.clone(),
        concurrency: input.cloudwatch.concurrency.max(1),
    }
}
