//! The capture inbox with real files written by another process (`sh`):
//! a slow writer, a temporary name renamed, a burst of 100 files, a file
//! deleted before import, a damaged image and a file that is no scan; and
//! files that were there before the watcher started.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use offline_cache::attachments::AttachmentVault;
use offline_cache::inbox::{
    import_file, waiting_files, Arrival, CaptureTarget, FolderWatcher, MediaType,
};
use offline_cache::{CaseStore, Production, StoreKey, StoreOptions};

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// A distinct PNG (or JPEG/TIFF) of 64×48 pixels.
fn picture(seed: u8, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([seed, (x * 4) as u8, (y * 5) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn sh(script: &str, dir: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .expect("sh runs");
    assert!(status.success(), "{script}");
}

struct World {
    _dir: tempfile::TempDir,
    inbox: PathBuf,
    sources: PathBuf,
    store: CaseStore<Production>,
    vault: AttachmentVault,
    ready: mpsc::Receiver<PathBuf>,
    _watcher: FolderWatcher,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let sources = dir.path().join("sources");
    std::fs::create_dir_all(&sources).unwrap();
    let key = StoreKey::random();
    let store =
        CaseStore::<Production>::open(&dir.path().join("store"), &key, StoreOptions::default())
            .unwrap();
    let vault = AttachmentVault::open(&dir.path().join("vault"), &key).unwrap();
    let (sender, ready) = mpsc::channel();
    let watcher = FolderWatcher::start(&inbox, move |path| {
        let _ = sender.send(path);
    })
    .unwrap();
    World {
        _dir: dir,
        inbox,
        sources,
        store,
        vault,
        ready,
        _watcher: watcher,
    }
}

impl World {
    /// Paths the watcher reported finished within `wait`, deduplicated.
    fn finished(&self, at_least: usize, wait: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + wait;
        let mut seen: Vec<PathBuf> = Vec::new();
        while Instant::now() < deadline {
            match self.ready.recv_timeout(Duration::from_millis(200)) {
                Ok(path) => {
                    if !seen.contains(&path) {
                        seen.push(path);
                    }
                }
                Err(_) if seen.len() >= at_least => break,
                Err(_) => {}
            }
        }
        seen
    }

    async fn import(&self, path: &Path, target: CaptureTarget) -> Arrival {
        import_file(
            &self.store,
            &self.vault,
            &self.inbox,
            path,
            target,
            true,
            now(),
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_slow_writer_is_imported_once_and_only_when_done() {
    let world = world();
    let png = picture(1, image::ImageFormat::Png);
    std::fs::write(world.sources.join("page.png"), &png).unwrap();
    // One open file written in two halves a second apart.
    let inbox = world.inbox.display().to_string();
    sh(
        &format!("( head -c 200 page.png; sleep 1; tail -c +201 page.png ) > '{inbox}/slow.png'"),
        &world.sources,
    );
    let finished = world.finished(1, Duration::from_secs(5));
    assert_eq!(finished, [world.inbox.join("slow.png")]);
    let target = CaptureTarget {
        draft_id: Some("draft-1".into()),
        item_id: Some("market.company-establishment".into()),
        material_id: Some("address_proof".into()),
    };
    let Arrival::Imported(capture) = world.import(&finished[0], target).await else {
        panic!("not imported")
    };
    assert_eq!(capture.media_type, MediaType::Png);
    assert_eq!(capture.state, "attached");
    assert_eq!(capture.size as usize, png.len());
    // Stored encrypted, with a thumbnail; the original is gone from the inbox.
    assert_eq!(world.vault.get(&capture.attachment_id).unwrap(), png);
    let thumbnail = world
        .store
        .capture_thumbnail(capture.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(thumbnail.starts_with(b"\x89PNG"));
    assert!(!world.inbox.join("slow.png").exists());
    let listed = world
        .store
        .captures_for(Some("draft-1".into()))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn a_temporary_name_counts_on_rename_and_hidden_files_are_ignored() {
    let world = world();
    std::fs::write(
        world.sources.join("scan.jpg"),
        picture(2, image::ImageFormat::Jpeg),
    )
    .unwrap();
    let inbox = world.inbox.display().to_string();
    sh(
        &format!(
            "cp scan.jpg '{inbox}/scan.jpg.part' && cp scan.jpg '{inbox}/.hidden.jpg' && sleep 0.3 && mv '{inbox}/scan.jpg.part' '{inbox}/scan.jpg'"
        ),
        &world.sources,
    );
    let finished = world.finished(1, Duration::from_secs(3));
    assert_eq!(finished, [world.inbox.join("scan.jpg")]);
    let Arrival::Imported(capture) = world.import(&finished[0], CaptureTarget::default()).await
    else {
        panic!("not imported")
    };
    assert_eq!(capture.media_type, MediaType::Jpeg);
    assert_eq!(capture.state, "tray", "no draft selected: the tray");
}

#[tokio::test]
async fn a_burst_of_a_hundred_files_arrives_in_full() {
    let world = world();
    for index in 0..100u8 {
        let format = if index % 3 == 0 {
            image::ImageFormat::Tiff
        } else {
            image::ImageFormat::Png
        };
        let extension = if index % 3 == 0 { "tif" } else { "png" };
        std::fs::write(
            world.sources.join(format!("page-{index:03}.{extension}")),
            picture(index, format),
        )
        .unwrap();
    }
    let inbox = world.inbox.display().to_string();
    sh(&format!("cp page-* '{inbox}/'"), &world.sources);
    let finished = world.finished(100, Duration::from_secs(20));
    assert_eq!(finished.len(), 100);
    let mut imported = 0;
    for path in &finished {
        if let Arrival::Imported(_) = world.import(path, CaptureTarget::default()).await {
            imported += 1;
        }
    }
    assert_eq!(imported, 100);
    assert_eq!(world.store.captures_for(None).await.unwrap().len(), 100);
    assert!(
        waiting_files(&world.inbox).is_empty(),
        "all removed after import"
    );
}

#[tokio::test]
async fn deleted_damaged_and_foreign_files_are_reported_and_left_alone() {
    let world = world();
    let png = picture(3, image::ImageFormat::Png);
    let mut damaged = png[..png.len() / 2].to_vec();
    damaged.extend_from_slice(&[0u8; 64]);
    std::fs::write(world.sources.join("damaged.png"), &damaged).unwrap();
    std::fs::write(world.sources.join("notes.txt"), "会议纪要").unwrap();
    std::fs::write(world.sources.join("cut.pdf"), b"%PDF-1.7\n1 0 obj\n").unwrap();
    std::fs::write(world.sources.join("gone.png"), &png).unwrap();
    let inbox = world.inbox.display().to_string();
    sh(
        &format!("cp damaged.png notes.txt cut.pdf gone.png '{inbox}/'"),
        &world.sources,
    );
    let finished = world.finished(4, Duration::from_secs(5));
    assert_eq!(finished.len(), 4);
    std::fs::remove_file(world.inbox.join("gone.png")).unwrap();
    for path in finished {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let arrival = world.import(&path, CaptureTarget::default()).await;
        match name.as_str() {
            "gone.png" => assert_eq!(arrival, Arrival::Gone { file: name }),
            "damaged.png" | "cut.pdf" => {
                let Arrival::Rejected(rejection) = arrival else {
                    panic!("{name}: {arrival:?}")
                };
                assert_eq!(rejection.code(), "capture_damaged", "{name}");
                assert!(rejection.message_zh().contains(&name));
                assert!(path.exists(), "{name} stays in the inbox");
            }
            "notes.txt" => {
                let Arrival::Rejected(rejection) = arrival else {
                    panic!("{name}: {arrival:?}")
                };
                assert_eq!(rejection.code(), "capture_unsupported");
                assert!(path.exists());
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(world.store.captures_for(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn files_that_arrived_while_closed_are_found_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("b.png"), picture(4, image::ImageFormat::Png)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(inbox.join("a.pdf"), b"%PDF-1.4\n%%EOF\n").unwrap();
    std::fs::write(inbox.join("~lock.png"), b"x").unwrap();
    std::fs::write(inbox.join(".DS_Store"), b"x").unwrap();
    let waiting = waiting_files(&inbox);
    assert_eq!(waiting, [inbox.join("b.png"), inbox.join("a.pdf")]);
}

#[tokio::test]
async fn a_link_or_a_path_out_of_the_inbox_is_refused_and_the_file_outside_is_kept() {
    let world = world();
    let png = picture(7, image::ImageFormat::Png);
    let outside = world.sources.join("secret.png");
    std::fs::write(&outside, &png).unwrap();
    // A symbolic link to a file outside, moved in as a writer would.
    let inbox = world.inbox.display().to_string();
    sh(
        &format!(
            "ln -s '{}' link.png && mv link.png '{inbox}/link.png'",
            outside.display()
        ),
        &world.sources,
    );
    let finished = world.finished(1, Duration::from_secs(5));
    assert_eq!(finished, [world.inbox.join("link.png")]);
    let subfolder = world.inbox.join("sub");
    std::fs::create_dir(&subfolder).unwrap();
    std::fs::write(subfolder.join("page.png"), &png).unwrap();
    for path in [
        world.inbox.join("link.png"),
        outside.clone(),
        world.inbox.join("../sources/secret.png"),
        subfolder.join("page.png"),
    ] {
        let arrival = world.import(&path, CaptureTarget::default()).await;
        let Arrival::Rejected(rejection) = arrival else {
            panic!("{}: {arrival:?}", path.display())
        };
        assert_eq!(
            rejection.code(),
            "device_file_refused",
            "{}",
            path.display()
        );
        assert!(
            rejection.message_zh().contains("收件夹"),
            "{}",
            rejection.message_zh()
        );
    }
    // Nothing was read into the store, nothing outside was touched, and
    // the link and the subfolder's file stay where they are.
    assert!(world.store.captures_for(None).await.unwrap().is_empty());
    assert_eq!(std::fs::read(&outside).unwrap(), png);
    assert!(world.inbox.join("link.png").symlink_metadata().is_ok());
    assert!(subfolder.join("page.png").exists());
    // A link is not a waiting file either.
    assert!(waiting_files(&world.inbox).is_empty());
}
