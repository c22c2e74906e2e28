//! Creates committed in groups: committing tasks take every create waiting and write them as
//! one transaction (on a server a multi-row insert per collection and one for their log
//! entries; on SQLite each row through a prepared statement on the group writer's thread),
//! so the round trips and the commit are paid once per group. Each client is answered only
//! after the commit that holds its record; a group a statement of which fails is rolled back
//! and its creates are written one by one, so each gets its own answer.

mod server;
mod sqlite;

pub(crate) use sqlite::{Setup as SqliteWriterSetup, Writer as SqliteWriter};

use std::sync::Arc;

use moon_domain::{Collection, NewRecord, RepoError};
use sea_orm::DatabaseConnection;
use sea_query::{InsertStatement, Value as SqlValue};
use sqlx::SqlitePool;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::changes;
use crate::dialect::Backend;
use crate::shaped;
use crate::writes::{created, insert_head, insert_row};

/// The most creates one transaction holds.
const GROUP: usize = 32;
/// The most values one transaction binds (SQLite allows 32,766, the servers 65,535).
const VALUES: usize = 16_000;
/// Creates waiting beyond the groups being written; senders wait when it is full.
const WAITING: usize = 1_024;

/// Where creates are sent to be committed; cloned with the database.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Create>,
    backend: Backend,
}

/// Where the groups are written.
#[derive(Debug, Clone)]
enum Store {
    /// SQLite's group writer, and the pool of the one connection other writes take turns on.
    Sqlite(SqlitePool, sqlite::Writer),
    /// A PostgreSQL or MySQL pool.
    Server(DatabaseConnection, Backend),
}

/// The collection a create is for, as validated: creates with the same shape share one
/// insert statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    name: String,
    fingerprint: u64,
    version: u64,
}

/// One record to insert, its statement's parts built by the caller.
#[derive(Debug)]
struct Create {
    shape: Shape,
    head: InsertStatement,
    row: Vec<SqlValue>,
    entry: [SqlValue; 6],
    done: oneshot::Sender<Result<(), RepoError>>,
}

impl Create {
    fn new(
        backend: Backend,
        collection: &Collection,
        record: &NewRecord,
        done: oneshot::Sender<Result<(), RepoError>>,
    ) -> Result<Self, RepoError> {
        Ok(Self {
            shape: Shape {
                name: collection.name.as_str().to_owned(),
                fingerprint: shaped::fingerprint(collection),
                version: collection.version,
            },
            head: insert_head(collection),
            row: insert_row(backend, collection, record),
            entry: changes::entry_row(&created(collection, record)?),
            done,
        })
    }

    fn values(&self) -> usize {
        self.row.len() + self.entry.len()
    }
}

impl GroupCommit {
    /// One committing task on SQLite's group `writer`, taking turns with `turn`'s one
    /// connection; it ends when the last clone is dropped.
    #[must_use]
    pub(crate) fn sqlite(turn: SqlitePool, writer: sqlite::Writer) -> Self {
        Self::start(Store::Sqlite(turn, writer), 1)
    }

    /// `tasks` committing tasks on a server `pool`, each a connection at a time.
    #[must_use]
    pub fn server(pool: DatabaseConnection, backend: Backend, tasks: usize) -> Self {
        Self::start(Store::Server(pool, backend), tasks.max(1))
    }

    fn start(store: Store, tasks: usize) -> Self {
        let backend = match &store {
            Store::Sqlite(..) => Backend::Sqlite,
            Store::Server(_, backend) => *backend,
        };
        let (queue, waiting) = mpsc::channel(WAITING);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..tasks {
            tokio::spawn(run(store.clone(), Arc::clone(&waiting)));
        }
        Self { queue, backend }
    }

    /// Inserts `record` and its log entry; returns once they are committed.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation and [`RepoError::SchemaChanged`] when
    /// the schema moved (nothing written then), or the classified failure of the database.
    pub async fn insert(
        &self,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError> {
        let (done, answer) = oneshot::channel();
        let create = Create::new(self.backend, collection, record, done)?;
        let stopped = || RepoError::Unavailable("the writer has stopped".into());
        self.queue.send(create).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Store, waiting: Arc<Mutex<mpsc::Receiver<Create>>>) {
    let mut taken = Vec::with_capacity(GROUP);
    let mut texts = sqlite::Texts::default();
    loop {
        if waiting.lock().await.recv_many(&mut taken, GROUP).await == 0 {
            return;
        }
        let mut creates = taken.drain(..).peekable();
        while creates.peek().is_some() {
            let mut group = Vec::new();
            let mut values = 0;
            while let Some(next) =
                creates.next_if(|c| group.is_empty() || values + c.values() <= VALUES)
            {
                values += next.values();
                group.push(next);
            }
            commit_group(&store, &mut texts, group).await;
        }
    }
}

/// Writes `group` in one transaction, or, when that fails, each create in its own.
async fn commit_group(store: &Store, texts: &mut sqlite::Texts, group: Vec<Create>) {
    let result = write(store, texts, &group.iter().collect::<Vec<_>>()).await;
    if group.len() == 1 || result.is_ok() {
        for create in group {
            let _ = create.done.send(result.clone());
        }
        return;
    }
    for create in group {
        let result = write(store, texts, &[&create]).await;
        let _ = create.done.send(result);
    }
}

async fn write(
    store: &Store,
    texts: &mut sqlite::Texts,
    group: &[&Create],
) -> Result<(), RepoError> {
    match store {
        Store::Sqlite(turn, writer) => sqlite::write(turn, writer, texts, group).await,
        Store::Server(pool, backend) => server::write(pool, *backend, group).await,
    }
}

/// `group` split by shape, in order of first appearance.
fn by_shape<'a>(group: &[&'a Create]) -> Vec<(&'a Shape, Vec<&'a Create>)> {
    let mut shapes: Vec<(&Shape, Vec<&Create>)> = Vec::new();
    for create in group {
        match shapes.iter_mut().find(|(s, _)| **s == create.shape) {
            Some((_, creates)) => creates.push(create),
            None => shapes.push((&create.shape, vec![create])),
        }
    }
    shapes
}
