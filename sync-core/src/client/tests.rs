//! `OfflineClient::delete_account` against a fake HTTP server (the real server's tests are the
//! Python ones in `mobile-bindings/tests/python/test_delete_account.py`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A server that answers each request with the next of `answers` (status, body) and records
/// the requests' first line and `authorization` header.
struct FakeServer {
    url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeServer {
    fn start(answers: Vec<(u16, &'static str)>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut first, mut authorization) = (String::new(), String::new());
                reader.read_line(&mut first).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorization = value.trim().to_owned();
                    }
                }
                seen.lock().unwrap().push((first.trim().to_owned(), authorization));
                let kind = if body.is_empty() { "" } else { "content-type: application/problem+json\r\n" };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\n{kind}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let mut stream = stream;
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        FakeServer { url, requests }
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}

/// Tokens `t0`, then `t1`, `t2`… after each refresh.
struct Tokens(AtomicUsize);

impl TokenSource for Tokens {
    fn access_token(&self) -> Option<String> {
        Some(format!("t{}", self.0.load(Ordering::SeqCst)))
    }

    fn refresh_access_token(&self) -> Option<String> {
        Some(format!("t{}", self.0.fetch_add(1, Ordering::SeqCst) + 1))
    }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn open(server: &FakeServer, dir: &Dir, young_person_id: Uuid) -> OfflineClient {
    let config = ClientConfig {
        server_url: server.url.clone(),
        data_dir: dir.0.clone(),
        young_person_id,
        plan_document_id: DocumentId::from_uuid(young_person_id).to_string(),
        conversation_document_id: None,
        timezone: "Europe/Paris".into(),
    };
    OfflineClient::open(config, Arc::new(Tokens(AtomicUsize::new(0)))).unwrap().0
}

/// A client on `server` with one edit not synced, in a fresh folder.
fn client(server: &FakeServer, dir: &Dir, young_person_id: Uuid) -> OfflineClient {
    let client = open(server, dir, young_person_id);
    client.create_action(NewAction { title: "Préparer mon CV".into(), ..Default::default() }).unwrap();
    assert_eq!(client.pending_changes(), 1);
    client
}

fn new_dir() -> Dir {
    Dir(std::env::temp_dir().join(format!("pe-client-{}", Uuid::new_v4().simple())))
}

#[test]
fn a_deleted_account_leaves_no_file_and_pending_changes_are_dropped() {
    let server = FakeServer::start(vec![(204, "")]);
    let dir = new_dir();
    let client = client(&server, &dir, Uuid::new_v4());
    assert!(!files(&dir).is_empty());
    client.delete_account().unwrap();
    assert_eq!(files(&dir), Vec::<String>::new());
    assert_eq!(server.requests(), [("DELETE /api/v1/me HTTP/1.1".to_owned(), "Bearer t0".to_owned())]);
}

#[test]
fn a_refusal_keeps_the_client_its_files_and_its_pending_changes() {
    let problem = r#"{"title":"Forbidden","status":403,"detail":"réservé aux jeunes"}"#;
    let server = FakeServer::start(vec![(500, ""), (403, problem), (204, "")]);
    let (dir, young_person_id) = (new_dir(), Uuid::new_v4());
    let client = client(&server, &dir, young_person_id);
    let before = files(&dir);
    let plan = client.plan();

    let Err(DeleteAccountError::NotDeleted { client, error }) = client.try_delete_account() else {
        panic!("deleted despite a 500")
    };
    assert!(matches!(error, ClientError::Rest(RestError::Refused { status: 500, .. })), "{error:?}");
    let Err(DeleteAccountError::NotDeleted { client, error }) = client.try_delete_account() else {
        panic!("deleted despite a 403")
    };
    assert!(
        matches!(&error, ClientError::Rest(RestError::Refused { status: 403, detail }) if detail == "réservé aux jeunes"),
        "{error:?}"
    );
    assert_eq!(files(&dir), before);
    assert_eq!((client.pending_changes(), client.plan()), (1, plan.clone()));
    // Still usable, and what it kept is on disk.
    client.create_action(NewAction { title: "Encore une".into(), ..Default::default() }).unwrap();
    drop(client);
    let reopened = open(&server, &dir, young_person_id);
    assert_eq!((reopened.pending_changes(), reopened.plan().actions.len()), (2, 2));
    // The third attempt is accepted.
    reopened.delete_account().unwrap();
    assert_eq!(files(&dir), Vec::<String>::new());
}

#[test]
fn a_token_refused_after_a_refresh_keeps_everything() {
    let server = FakeServer::start(vec![(401, ""), (401, "")]);
    let dir = new_dir();
    let client = client(&server, &dir, Uuid::new_v4());
    let before = files(&dir);
    let Err(DeleteAccountError::NotDeleted { client, error }) = client.try_delete_account() else {
        panic!("deleted despite a 401")
    };
    assert!(matches!(error, ClientError::SignedOut), "{error:?}");
    let tokens: Vec<String> = server.requests().into_iter().map(|(_, token)| token).collect();
    assert_eq!(tokens, ["Bearer t0", "Bearer t1"], "retried once with the refreshed token");
    assert_eq!((files(&dir), client.pending_changes()), (before, 1));
}

#[test]
fn a_refresh_then_a_204_deletes() {
    let server = FakeServer::start(vec![(401, ""), (204, "")]);
    let dir = new_dir();
    client(&server, &dir, Uuid::new_v4()).delete_account().unwrap();
    assert_eq!(files(&dir), Vec::<String>::new());
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn an_unreachable_server_keeps_everything() {
    // A port nobody listens on any more.
    let server = FakeServer::start(vec![]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (dir, young_person_id) = (new_dir(), Uuid::new_v4());
    let client = client(&server, &dir, young_person_id);
    let before = files(&dir);
    let error = client.delete_account().unwrap_err();
    assert!(matches!(error, ClientError::Rest(RestError::Network(_))), "{error:?}");
    assert_eq!(files(&dir), before);
    let reopened = open(&server, &dir, young_person_id);
    assert_eq!((reopened.pending_changes(), reopened.plan().actions.len()), (1, 1));
}
