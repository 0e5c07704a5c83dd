//! Failures the S3 emulator cannot produce, against the SDK's mock client: access denied on the
//! listing and on an object (each naming the IAM action that is missing), a missing bucket, and
//! listing past the first page.

use std::io::Read;

use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Error, ListObjectsV2Output};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::Object as S3Object;
use aws_sdk_s3::Client as SdkClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ktrail_s3::{list, Client, Objects, Progress, S3Error, S3Url};

fn client(rules: &[Rule]) -> Client {
    let refs: Vec<&Rule> = rules.iter().collect();
    let sdk: SdkClient = mock_client!(aws_sdk_s3, RuleMode::MatchAny, refs);
    Client::new(sdk, "mock")
}

fn url() -> S3Url {
    S3Url::parse("s3://audit-archive/eks/prod/").unwrap()
}

fn page(keys: &[&str], next: Option<&str>) -> ListObjectsV2Output {
    ListObjectsV2Output::builder()
        .set_contents(Some(
            keys.iter()
                .map(|k| S3Object::builder().key(*k).size(10).build())
                .collect(),
        ))
        .set_next_continuation_token(next.map(str::to_owned))
        .is_truncated(next.is_some())
        .build()
}

#[tokio::test]
async fn access_denied_on_the_listing_names_s3_list_bucket() {
    let denied = mock!(SdkClient::list_objects_v2).then_error(|| {
        ListObjectsV2Error::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("Access Denied")
                .build(),
        )
    });
    let e = list(&client(&[denied]), &url(), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            S3Error::AccessDenied {
                action: "s3:ListBucket",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "access denied by S3 on s3://audit-archive/eks/prod/: the caller needs the IAM action s3:ListBucket on arn:aws:s3:::audit-archive"
    );
}

#[tokio::test]
async fn a_missing_bucket_is_named() {
    let missing = mock!(SdkClient::list_objects_v2).then_error(|| {
        ListObjectsV2Error::generic(ErrorMetadata::builder().code("NoSuchBucket").build())
    });
    let e = list(&client(&[missing]), &url(), None, None)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("bucket audit-archive does not exist"),
        "{e}"
    );
}

#[tokio::test]
async fn every_page_is_listed_and_export_trees_are_thinned() {
    let first = mock!(SdkClient::list_objects_v2)
        .match_requests(|r| r.continuation_token().is_none())
        .then_output(|| {
            page(
                &[
                    "eks/prod/exportedlogs/aws-logs-write-test",
                    "eks/prod/exportedlogs/t/authenticator-1/000000.gz",
                    "eks/prod/exportedlogs/t/kube-apiserver-audit-1/000000.gz",
                ],
                Some("page-2"),
            )
        });
    let second = mock!(SdkClient::list_objects_v2)
        .match_requests(|r| r.continuation_token() == Some("page-2"))
        .then_output(|| {
            page(
                &["eks/prod/exportedlogs/t/kube-apiserver-audit-1/000001.gz"],
                None,
            )
        });
    let l = list(&client(&[first, second]), &url(), None, None)
        .await
        .unwrap();
    let keys: Vec<&str> = l.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "eks/prod/exportedlogs/t/kube-apiserver-audit-1/000000.gz",
            "eks/prod/exportedlogs/t/kube-apiserver-audit-1/000001.gz"
        ]
    );
    assert_eq!(l.listed, 4);
}

#[test]
fn access_denied_on_an_object_names_s3_get_object() {
    let rt = ktrail_s3::runtime().unwrap();
    let ok = mock!(SdkClient::get_object)
        .match_requests(|r| r.key() == Some("eks/prod/a.jsonl"))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"{}\n"))
                .build()
        });
    let denied = mock!(SdkClient::get_object)
        .match_requests(|r| r.key() == Some("eks/prod/b.jsonl"))
        .then_error(|| {
            GetObjectError::generic(ErrorMetadata::builder().code("AccessDenied").build())
        });
    let c = client(&[ok, denied]);
    let objects = ["eks/prod/a.jsonl", "eks/prod/b.jsonl"]
        .iter()
        .map(|k| ktrail_s3::Object {
            key: (*k).into(),
            size: 3,
            last_modified: None,
        })
        .collect();
    let mut o = Objects::start(rt.handle(), &c, &url(), objects, 1, &Progress::hidden());
    let (key, mut body) = o.next_object().unwrap().unwrap();
    assert_eq!(key, "eks/prod/a.jsonl");
    let mut s = String::new();
    body.read_to_string(&mut s).unwrap();
    assert_eq!(s, "{}\n");
    let e = o.next_object().unwrap().err().unwrap();
    assert_eq!(
        e.to_string(),
        "access denied by S3 on s3://audit-archive/eks/prod/b.jsonl: the caller needs the IAM action s3:GetObject on arn:aws:s3:::audit-archive/eks/prod/*"
    );
    assert!(o.next_object().is_none());
}
