//! `cargo xtask download mnist|fashion-mnist`: fetches the four IDX files into `data/<name>/`,
//! trying mirrors in order. A file counts only when the SHA-256 of its *decompressed* bytes matches
//! the pinned value, so re-compressed copies (Debian's) pass too. Files are written atomically;
//! a file already present and verified is skipped; `--from DIR` imports local copies.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::usage;

/// A dataset's files with the SHA-256 of their decompressed bytes, and its mirrors in order.
struct Source {
    name: &'static str,
    mirrors: &'static [&'static str],
    files: [(&'static str, &'static str); 4],
    offline: &'static str,
}

const SOURCES: [Source; 2] = [
    Source {
        name: "mnist",
        mirrors: &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        files: [
            ("train-images-idx3-ubyte.gz", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte.gz", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            ("t10k-images-idx3-ubyte.gz", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte.gz", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ],
        offline: "copy the four files from another machine and pass --from DIR, or train on the bundled `digits` dataset (--dataset digits)",
    },
    Source {
        name: "fashion-mnist",
        mirrors: &[
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ],
        files: [
            ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ],
        offline: "on Debian, `apt-get install dataset-fashion-mnist` and pass --from /usr/share/datasets/fashion-mnist (or train with --data-dir /usr/share/datasets/fashion-mnist)",
    },
];

/// Largest download accepted (the biggest file is 26 MB).
const MAX_BYTES: u64 = 256 << 20;

/// Parsed arguments.
struct Args {
    source: &'static Source,
    dir: PathBuf,
    mirrors: Vec<String>,
    from: Option<PathBuf>,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let names: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
    let Some(name) = args.first() else {
        return usage(format!("download: which dataset? expected one of {}", names.join(", ")));
    };
    let Some(source) = SOURCES.iter().find(|s| s.name == name) else {
        return usage(format!("download: unknown dataset {name:?}; expected one of {}", names.join(", ")));
    };
    let mut out = Args { source, dir: crate::root().join("data").join(source.name), mirrors: Vec::new(), from: None };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let mut value = || match rest.next() {
            Some(v) => Ok(v.clone()),
            None => usage(format!("download: {flag} needs a value")),
        };
        match flag.as_str() {
            "--dir" => out.dir = PathBuf::from(value()?),
            "--mirror" => {
                let mut m = value()?;
                if !m.ends_with('/') {
                    m.push('/');
                }
                out.mirrors.push(m);
            }
            "--from" => out.from = Some(PathBuf::from(value()?)),
            other => {
                return usage(format!("download: unknown flag {other:?}; expected --dir, --mirror or --from"));
            }
        }
    }
    if out.mirrors.is_empty() {
        out.mirrors = source.mirrors.iter().map(|m| m.to_string()).collect();
    }
    Ok(out)
}

/// Runs the task.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let a = parse(args)?;
    fetch_all(a.source, &a.dir, &a.mirrors, a.from.as_deref())
}

fn fetch_all(source: &Source, dir: &Path, mirrors: &[String], from: Option<&Path>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for (file, sha) in source.files {
        let dest = dir.join(file);
        if dest.is_file() && verify(&std::fs::read(&dest)?, sha).is_ok() {
            eprintln!("{}: present and verified", dest.display());
            continue;
        }
        let bytes = match from {
            Some(src) => import(src, file, sha)?,
            None => download(source, file, sha, mirrors)?,
        };
        write_atomic(&dest, &bytes)?;
        eprintln!("{}: verified ({} bytes)", dest.display(), bytes.len());
    }
    eprintln!("{} is ready in {}", source.name, dir.display());
    Ok(())
}

/// Checks the SHA-256 of the decompressed payload (gzip or raw).
fn verify(bytes: &[u8], sha: &str) -> anyhow::Result<()> {
    let payload = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_BYTES * 4)
            .read_to_end(&mut out)
            .context("corrupt gzip stream")?;
        out
    } else {
        bytes.to_vec()
    };
    let got = hex(&Sha256::digest(&payload));
    if got != sha {
        bail!("SHA-256 of the decompressed bytes is {got}, expected {sha}");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn import(src: &Path, file: &str, sha: &str) -> anyhow::Result<Vec<u8>> {
    let raw_name = file.trim_end_matches(".gz");
    let path = [src.join(file), src.join(raw_name)].into_iter().find(|p| p.is_file());
    let Some(path) = path else {
        bail!("--from {}: neither {file} nor {raw_name} is there", src.display());
    };
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    verify(&bytes, sha).with_context(|| format!("{}", path.display()))?;
    Ok(bytes)
}

fn download(source: &Source, file: &str, sha: &str, mirrors: &[String]) -> anyhow::Result<Vec<u8>> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(120))).build().new_agent();
    let mut tried = Vec::new();
    for mirror in mirrors {
        let url = format!("{mirror}{file}");
        eprintln!("fetching {url}");
        let attempt = agent
            .get(&url)
            .call()
            .map_err(anyhow::Error::from)
            .and_then(|mut r| r.body_mut().with_config().limit(MAX_BYTES).read_to_vec().map_err(anyhow::Error::from))
            .and_then(|bytes| verify(&bytes, sha).map(|()| bytes));
        match attempt {
            Ok(bytes) => return Ok(bytes),
            Err(e) => {
                eprintln!("  {url}: {e:#}");
                tried.push(format!("  {url}: {e:#}"));
            }
        }
    }
    bail!(
        "could not download {file} for {}; tried:\n{}\nOffline alternatives: {}",
        source.name,
        tried.join("\n"),
        source.offline
    )
}

/// Writes through a temporary file in the same directory, synced, then renamed; a failed or
/// unverified download never reaches `dest`.
fn write_atomic(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.part", dest.file_name().and_then(|n| n.to_str()).unwrap_or("download")));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: cannot write", dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    /// A loopback HTTP/1.1 server answering GETs from `files` (404 otherwise), for at most
    /// `max_requests` requests or 60 seconds, whichever comes first.
    fn serve(files: HashMap<String, Vec<u8>>, max_requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let files = Arc::new(files);
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            for stream in listener.incoming().take(max_requests) {
                if std::time::Instant::now() > deadline {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = answer(stream, &files);
                }
            }
        });
        format!("http://{addr}/")
    }

    fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request = String::new();
        reader.read_line(&mut request)?;
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/');
        match files.get(path) {
            Some(body) => {
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
                stream.write_all(body)?;
            }
            None => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?,
        }
        stream.flush()
    }

    /// A closed port on loopback: bound, then released.
    fn closed_port_url() -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        format!("http://{addr}/")
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A fake dataset of four small payloads with their pinned hashes.
    fn fake() -> (Source, HashMap<String, Vec<u8>>) {
        let names = ["a.gz", "b.gz", "c.gz", "d.gz"];
        let payloads: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 1000 + i as usize]).collect();
        let shas: Vec<&'static str> =
            payloads.iter().map(|p| &*Box::leak(hex(&Sha256::digest(p)).into_boxed_str())).collect();
        let source = Source {
            name: "fake",
            mirrors: &[],
            files: [(names[0], shas[0]), (names[1], shas[1]), (names[2], shas[2]), (names[3], shas[3])],
            offline: "use --from",
        };
        let files = names.iter().zip(&payloads).map(|(n, p)| (n.to_string(), gz(p))).collect();
        (source, files)
    }

    #[test]
    fn a_good_download_verifies_and_a_second_run_skips() {
        let (source, files) = fake();
        let url = serve(files.clone(), 4);
        let dir = tempfile::tempdir().unwrap();
        fetch_all(&source, dir.path(), &[url], None).unwrap();
        for (name, bytes) in &files {
            assert_eq!(&std::fs::read(dir.path().join(name)).unwrap(), bytes);
        }
        // The server is gone after 4 requests: a second run must not need it.
        fetch_all(&source, dir.path(), &[closed_port_url()], None).unwrap();
    }

    #[test]
    fn a_corrupted_file_is_rejected_and_the_next_mirror_used() {
        let (source, good) = fake();
        let mut bad = good.clone();
        bad.insert("a.gz".into(), gz(b"not the payload"));
        let bad_url = serve(bad, 1);
        let good_url = serve(good.clone(), 4);
        let dir = tempfile::tempdir().unwrap();
        fetch_all(&source, dir.path(), &[bad_url, good_url], None).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.gz")).unwrap(), good["a.gz"]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_corrupted_file_is_never_written() {
        let (source, good) = fake();
        let mut bad = good;
        bad.insert("a.gz".into(), gz(b"not the payload"));
        let url = serve(bad, 1);
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", fetch_all(&source, dir.path(), std::slice::from_ref(&url), None).unwrap_err());
        assert!(err.contains(&format!("{url}a.gz: SHA-256 of the decompressed bytes is")), "{err}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
    }

    #[test]
    fn an_unreachable_mirror_falls_through_to_the_next() {
        let (source, files) = fake();
        let url = serve(files, 4);
        let dir = tempfile::tempdir().unwrap();
        fetch_all(&source, dir.path(), &[closed_port_url(), url], None).unwrap();
        assert!(dir.path().join("d.gz").is_file());
    }

    #[test]
    fn when_all_fail_the_error_lists_every_url_and_the_offline_ways() {
        let (source, _) = fake();
        let (a, b) = (closed_port_url(), serve(HashMap::new(), 1));
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", fetch_all(&source, dir.path(), &[a.clone(), b.clone()], None).unwrap_err());
        assert!(err.contains(&format!("{a}a.gz: ")), "{err}");
        assert!(err.contains(&format!("{b}a.gz: ")) && err.contains("404"), "{err}");
        assert!(err.contains("Offline alternatives: use --from"), "{err}");
    }

    #[test]
    fn from_imports_recompressed_and_raw_copies() {
        let (source, files) = fake();
        let src = tempfile::tempdir().unwrap();
        for (i, (name, bytes)) in files.iter().enumerate() {
            let mut payload = Vec::new();
            flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut payload).unwrap();
            if i % 2 == 0 {
                // Re-compressed differently, as Debian ships them: other bytes, same payload.
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(&payload).unwrap();
                std::fs::write(src.path().join(name), e.finish().unwrap()).unwrap();
            } else {
                std::fs::write(src.path().join(name.trim_end_matches(".gz")), payload).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        fetch_all(&source, dir.path(), &[], Some(src.path())).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn debian_fashion_mnist_verifies() {
        // Real, re-compressed files: their .gz bytes differ from upstream, their payloads do not.
        let dir = Path::new("/usr/share/datasets/fashion-mnist");
        assert!(dir.is_dir(), "{} is missing: apt-get install dataset-fashion-mnist (.ci/run does)", dir.display());
        for (file, sha) in SOURCES[1].files {
            verify(&std::fs::read(dir.join(file)).unwrap(), sha).unwrap();
        }
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let err = parse(&["cifar".into()]).err().unwrap();
        assert!(err.is::<crate::Usage>());
        assert_eq!(err.to_string(), "download: unknown dataset \"cifar\"; expected one of mnist, fashion-mnist");
        let err = parse(&["mnist".into(), "--mirror".into()]).err().unwrap();
        assert_eq!(err.to_string(), "download: --mirror needs a value");
    }
}
