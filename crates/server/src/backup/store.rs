//! Where backups go: a directory, or an S3-compatible bucket (`s3://bucket/prefix`), and
//! the retention that keeps a target from filling up.
//!
//! A bucket holds the same layout as a directory: `<prefix>/<time>/manifest.json`, the
//! database file beside it, and `<prefix>/media/<sha256>` shared by every backup. A
//! backup is staged in the data directory, its media uploaded (only those the bucket does
//! not have yet), its database file streamed up in parts, and the manifest put last, so a
//! backup without a manifest is one that never finished. A restore from a bucket
//! downloads into the data directory and restores from there.

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use emporium_core::Config;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Manifest, Progress};

/// Database files go up in parts of this size, so a large one never sits in memory.
const PART_BYTES: usize = 16 * 1024 * 1024;

/// Where backups are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    Bucket { bucket: String, prefix: String },
}

impl Location {
    /// `s3://bucket/prefix` is a bucket; anything else is a directory.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    bail!("{text}: an S3 location is s3://bucket/prefix");
                }
                Ok(Self::Bucket {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                })
            }
            None if text.is_empty() => {
                bail!("a backup location is a directory or s3://bucket/prefix")
            }
            None => Ok(Self::Dir(PathBuf::from(text))),
        }
    }

    /// The location one level down (a backup in a target).
    fn child(&self, name: &str) -> Self {
        match self {
            Self::Dir(dir) => Self::Dir(dir.join(name)),
            Self::Bucket { bucket, prefix } => Self::Bucket {
                bucket: bucket.clone(),
                prefix: join(prefix, name),
            },
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::Bucket { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::Bucket { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The bucket's client: `[backup] s3_*` settings over the `AWS_*` environment.
fn bucket_store(config: &Config, bucket: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    use secrecy::ExposeSecret;
    let settings = &config.backup;
    let mut builder = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_allow_http(settings.s3_allow_http);
    if let Some(region) = &settings.s3_region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &settings.s3_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(id) = &settings.s3_access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = &settings.s3_secret_access_key {
        builder = builder.with_secret_access_key(secret.expose_secret());
    }
    Ok(Arc::new(builder.build().context("the backup bucket")?))
}

/// Where a bucket backup is staged (and a bucket restore downloaded) on this machine.
fn staging(config: &Config) -> PathBuf {
    config.data_dir.join("backup-staging")
}

/// Takes a backup into `to`, named for the time `created_at` (now, or a scheduled
/// backup's due time); answers where it went and its manifest.
pub async fn backup_to(
    config: &Config,
    to: &Location,
    created_at: DateTime<Utc>,
    progress: Progress<'_>,
) -> anyhow::Result<(Location, Manifest)> {
    let (bucket, prefix) = match to {
        Location::Dir(dir) => {
            let (dir, manifest) = super::backup_dir(config, dir, created_at, progress).await?;
            return Ok((Location::Dir(dir), manifest));
        }
        Location::Bucket { bucket, prefix } => (bucket, prefix),
    };
    let store = bucket_store(config, bucket)?;
    let name = super::backup_name(created_at);
    let local = staging(config).join(&name);
    std::fs::create_dir_all(&local)
        .with_context(|| format!("cannot create {}", local.display()))?;
    let result = async {
        let (backend, tables, schema_version) =
            super::take_database(config, &local, progress).await?;
        let files = super::local_media(config)?;
        let mut media = BTreeMap::new();
        for (i, (key, path)) in files.iter().enumerate() {
            progress("media", i as u64, files.len() as u64);
            let data = tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            let hash = super::hex(&Sha256::digest(&data));
            let object = StorePath::from(join(prefix, &format!("media/{hash}")));
            match store.head(&object).await {
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => {
                    store
                        .put(&object, PutPayload::from(data))
                        .await
                        .with_context(|| format!("storing {object}"))?;
                }
                Err(e) => return Err(e).with_context(|| format!("checking {object}")),
            }
            media.insert(key.clone(), hash);
        }
        progress("media", files.len() as u64, files.len() as u64);
        let file = super::database_file(backend);
        upload(
            store.as_ref(),
            &local.join(file),
            &StorePath::from(join(prefix, &format!("{name}/{file}"))),
            progress,
        )
        .await?;
        let manifest = Manifest {
            format: super::FORMAT,
            backend: backend.into(),
            schema_version,
            created_at,
            node: super::node_name(),
            tables,
            media,
        };
        let object = StorePath::from(join(prefix, &format!("{name}/manifest.json")));
        store
            .put(
                &object,
                PutPayload::from(serde_json::to_vec_pretty(&manifest)?),
            )
            .await
            .with_context(|| format!("storing {object}"))?;
        Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_dir_all(&local);
    Ok((to.child(&name), result?))
}

/// Streams a file into the bucket as a multipart upload, a part at a time.
async fn upload(
    store: &dyn ObjectStore,
    file: &Path,
    object: &StorePath,
    progress: Progress<'_>,
) -> anyhow::Result<()> {
    let mut source = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let total = source.metadata().await?.len();
    let upload = store
        .put_multipart(object)
        .await
        .with_context(|| format!("storing {object}"))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut sent = 0u64;
    loop {
        let n = source.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        writer
            .wait_for_capacity(4)
            .await
            .with_context(|| format!("storing {object}"))?;
        writer.write(&buffer[..n]);
        sent += n as u64;
        progress("upload", sent, total);
    }
    writer
        .finish()
        .await
        .with_context(|| format!("storing {object}"))?;
    Ok(())
}

/// Streams an object into a local file.
async fn download(store: &dyn ObjectStore, object: &StorePath, file: &Path) -> anyhow::Result<()> {
    let found = store.get(object).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => {
            anyhow::anyhow!("the backup is damaged: {object} is missing")
        }
        e => anyhow::anyhow!("reading {object}: {e}"),
    })?;
    let mut stream = found.into_stream();
    let mut out = tokio::fs::File::create(file)
        .await
        .with_context(|| format!("cannot write {}", file.display()))?;
    while let Some(chunk) = stream
        .try_next()
        .await
        .with_context(|| format!("reading {object}"))?
    {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(())
}

/// Makes a backup readable as a local directory: itself when it is one; downloaded from
/// a bucket (into the data directory's staging area) when not. Answers the directory and,
/// for a download, what to remove afterwards.
pub async fn fetch(
    config: &Config,
    from: &Location,
    progress: Progress<'_>,
) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    let (bucket, prefix) = match from {
        Location::Dir(dir) => return Ok((dir.clone(), None)),
        Location::Bucket { bucket, prefix } => (bucket, prefix),
    };
    let (parent, name) = prefix.rsplit_once('/').unwrap_or(("", prefix.as_str()));
    if super::backup_time(name).is_none() {
        bail!("{from} is not a backup: name one, s3://bucket/prefix/<time>");
    }
    let store = bucket_store(config, bucket)?;
    let root = staging(config).join("restore");
    let _ = std::fs::remove_dir_all(&root);
    let local = root.join(name);
    std::fs::create_dir_all(local.clone())?;
    std::fs::create_dir_all(root.join("media"))?;
    let manifest_file = local.join("manifest.json");
    download(
        store.as_ref(),
        &StorePath::from(format!("{prefix}/manifest.json")),
        &manifest_file,
    )
    .await?;
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(&manifest_file)?)
        .context("the backup's manifest.json cannot be read")?;
    progress("download", 0, 1);
    let file = super::database_file(&manifest.backend);
    download(
        store.as_ref(),
        &StorePath::from(format!("{prefix}/{file}")),
        &local.join(file),
    )
    .await?;
    progress("download", 1, 1);
    let hashes: BTreeSet<&String> = manifest.media.values().collect();
    for (i, hash) in hashes.iter().enumerate() {
        progress("media", i as u64, hashes.len() as u64);
        download(
            store.as_ref(),
            &StorePath::from(join(parent, &format!("media/{hash}"))),
            &root.join("media").join(hash),
        )
        .await?;
    }
    progress("media", hashes.len() as u64, hashes.len() as u64);
    Ok((local, Some(root)))
}

/// The period a time falls in (an hour, a day, an ISO week), as a comparable key.
type Period = fn(&DateTime<Utc>) -> (i32, u32, u32);

/// How many backups to keep, restic-style: the newest of each of the last `hourly`
/// hours, `daily` days and `weekly` ISO weeks that have one (the newest backup is always
/// kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
}

impl Retention {
    pub fn from_config(config: &Config) -> Self {
        Self {
            hourly: config.backup.keep_hourly,
            daily: config.backup.keep_daily,
            weekly: config.backup.keep_weekly,
        }
    }

    /// Which of `times` to keep (indexes into it), whatever their order.
    pub fn keep(&self, times: &[DateTime<Utc>]) -> BTreeSet<usize> {
        let mut newest_first: Vec<usize> = (0..times.len()).collect();
        newest_first.sort_by(|a, b| times[*b].cmp(&times[*a]).then(a.cmp(b)));
        let mut kept: BTreeSet<usize> = newest_first.first().copied().into_iter().collect();
        let periods: [(u32, Period); 3] = [
            (self.hourly, |t| (t.year(), t.ordinal(), t.hour())),
            (self.daily, |t| (t.year(), t.ordinal(), 0)),
            (self.weekly, |t| {
                let week = t.iso_week();
                (week.year(), week.week(), 0)
            }),
        ];
        for (count, period) in periods {
            let mut left = count;
            let mut last = None;
            for &i in &newest_first {
                if left == 0 {
                    break;
                }
                let key = period(&times[i]);
                if last != Some(key) {
                    kept.insert(i);
                    last = Some(key);
                    left -= 1;
                }
            }
        }
        kept
    }
}

/// What a pruning removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub backups_kept: usize,
    pub backups_deleted: usize,
    pub media_deleted: usize,
}

/// A media file no backup lists is deleted only when older than this, so a backup still
/// uploading its media (its manifest not yet written) keeps them.
const MEDIA_GRACE: Duration = Duration::hours(1);

/// The target as an object store (a directory through the local file system store), and
/// the prefix its backups live under.
fn target_store(config: &Config, at: &Location) -> anyhow::Result<(Arc<dyn ObjectStore>, String)> {
    Ok(match at {
        Location::Dir(dir) => {
            std::fs::create_dir_all(dir)?;
            (
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?),
                String::new(),
            )
        }
        Location::Bucket { bucket, prefix } => (bucket_store(config, bucket)?, prefix.clone()),
    })
}

/// The finished backups in a target (those with a manifest), by name.
pub async fn list(config: &Config, at: &Location) -> anyhow::Result<Vec<String>> {
    let (store, prefix) = target_store(config, at)?;
    let objects: Vec<_> = store
        .list(Some(&StorePath::from(prefix.as_str())))
        .try_collect()
        .await
        .with_context(|| format!("listing {at}"))?;
    let mut names: Vec<String> = objects
        .iter()
        .filter_map(|o| {
            let key = o.location.as_ref();
            let rest = if prefix.is_empty() {
                key
            } else {
                key.strip_prefix(&format!("{prefix}/"))?
            };
            let name = rest.strip_suffix("/manifest.json")?;
            super::backup_time(name).map(|_| name.to_string())
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes the backups `retention` does not keep, then the media files no kept backup
/// lists (older than an hour at `now`).
pub async fn prune(
    config: &Config,
    at: &Location,
    retention: Retention,
    now: DateTime<Utc>,
) -> anyhow::Result<Pruned> {
    let names = list(config, at).await?;
    let times: Vec<DateTime<Utc>> = names.iter().filter_map(|n| super::backup_time(n)).collect();
    let keep = retention.keep(&times);
    let (store, prefix) = target_store(config, at)?;
    let mut pruned = Pruned::default();
    let mut listed_media = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        if keep.contains(&i) {
            let object = StorePath::from(join(&prefix, &format!("{name}/manifest.json")));
            let text = store
                .get(&object)
                .await
                .with_context(|| format!("reading {object}"))?
                .bytes()
                .await?;
            let manifest: Manifest = serde_json::from_slice(&text)
                .with_context(|| format!("{object} cannot be read"))?;
            listed_media.extend(manifest.media.into_values());
            pruned.backups_kept += 1;
            continue;
        }
        match at {
            Location::Dir(dir) => std::fs::remove_dir_all(dir.join(name))
                .with_context(|| format!("deleting {}", dir.join(name).display()))?,
            Location::Bucket { .. } => {
                let objects: Vec<StorePath> = store
                    .list(Some(&StorePath::from(join(&prefix, name))))
                    .map_ok(|o| o.location)
                    .try_collect()
                    .await?;
                for object in objects {
                    store
                        .delete(&object)
                        .await
                        .with_context(|| format!("deleting {object}"))?;
                }
            }
        }
        pruned.backups_deleted += 1;
    }
    let media: Vec<_> = store
        .list(Some(&StorePath::from(join(&prefix, "media"))))
        .try_collect()
        .await
        .with_context(|| format!("listing {at}'s media"))?;
    for object in media {
        let hash = object.location.filename().unwrap_or_default().to_string();
        if listed_media.contains(&hash) || now - object.last_modified < MEDIA_GRACE {
            continue;
        }
        store
            .delete(&object.location)
            .await
            .with_context(|| format!("deleting {}", object.location))?;
        pruned.media_deleted += 1;
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn locations_are_directories_or_buckets() {
        assert_eq!(
            Location::parse("s3://shop/backups/emporium/").expect("s3"),
            Location::Bucket {
                bucket: "shop".into(),
                prefix: "backups/emporium".into()
            }
        );
        assert_eq!(
            Location::parse("s3://shop").expect("s3").to_string(),
            "s3://shop"
        );
        assert_eq!(
            Location::parse("/var/backups").expect("dir"),
            Location::Dir("/var/backups".into())
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("  ").is_err());
    }

    #[test]
    fn retention_keeps_the_newest_of_each_period() {
        // Every 20 minutes over three days.
        let times: Vec<_> = (28..=30)
            .flat_map(|d| (0..24).flat_map(move |h| [0, 20, 40].map(|m| at(d, h, m))))
            .collect();
        let policy = Retention {
            hourly: 5,
            daily: 3,
            weekly: 0,
        };
        let kept: Vec<_> = policy.keep(&times).into_iter().map(|i| times[i]).collect();
        // The five newest hours' last backups, and the last of each of three days (the
        // newest day's is the same as the newest hour's).
        assert_eq!(
            kept,
            vec![
                at(28, 23, 40),
                at(29, 23, 40),
                at(30, 19, 40),
                at(30, 20, 40),
                at(30, 21, 40),
                at(30, 22, 40),
                at(30, 23, 40),
            ]
        );
    }

    #[test]
    fn retention_does_not_depend_on_the_order_and_keeps_the_newest_always() {
        let mut times = vec![at(1, 1, 0), at(9, 1, 0), at(2, 5, 0), at(16, 3, 0)];
        let none = Retention {
            hourly: 0,
            daily: 0,
            weekly: 0,
        };
        assert_eq!(none.keep(&times), BTreeSet::from([3]));
        let weekly = Retention {
            hourly: 0,
            daily: 0,
            weekly: 2,
        };
        let kept: BTreeSet<_> = weekly.keep(&times).into_iter().map(|i| times[i]).collect();
        times.reverse();
        let again: BTreeSet<_> = weekly.keep(&times).into_iter().map(|i| times[i]).collect();
        assert_eq!(kept, again);
        // 16 Nov is ISO week 46, 9 Nov week 45.
        assert_eq!(kept, BTreeSet::from([at(16, 3, 0), at(9, 1, 0)]));
        assert!(weekly.keep(&[]).is_empty());
    }
}
