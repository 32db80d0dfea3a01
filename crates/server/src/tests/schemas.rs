//! The two schemas agree: a fresh SQLite database and a fresh PostgreSQL database, each
//! migrated by the server, have the same tables with the same columns, and each column
//! the same kind of value, nullability, place in the primary key and default. The two
//! migration lists are written apart (`db/schema.rs`, `db/schema_pg.rs`); this is what
//! tells when a step was added to one and not the other.
//!
//! The comparison needs a PostgreSQL cluster (`MY_SERVER_TEST_PG`). Without one it is
//! skipped, except under `CI=true`, where that is a failure. Its name holds `postgres::`,
//! which the SQLite run of `make test` skips; the PostgreSQL run has a cluster.

use crate::db::{self, Db, DbResult, Target, Tx};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One column, as both databases can describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// The kind of value, named as SQLite's type affinities: INTEGER, TEXT, BLOB, REAL or
    /// NUMERIC; a PostgreSQL type with no such counterpart keeps its own name.
    kind: String,
    not_null: bool,
    /// Its place in the primary key, from 1; 0 for a column outside it.
    key: i64,
    /// The default, as written (a PostgreSQL cast of a quoted literal left out).
    default: Option<String>,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if self.not_null {
            f.write_str(" NOT NULL")?;
        }
        if self.key > 0 {
            write!(f, " PRIMARY KEY #{}", self.key)?;
        }
        if let Some(default) = &self.default {
            write!(f, " DEFAULT {default}")?;
        }
        Ok(())
    }
}

/// Every table's columns, by name.
type Schema = BTreeMap<String, BTreeMap<String, Column>>;

/// The affinity SQLite gives a declared type (the rules of "Datatypes In SQLite", 3.1).
fn sqlite_kind(declared: &str) -> String {
    let declared = declared.to_ascii_uppercase();
    let has = |words: &[&str]| words.iter().any(|word| declared.contains(word));
    let kind = if has(&["INT"]) {
        "INTEGER"
    } else if has(&["CHAR", "CLOB", "TEXT"]) {
        "TEXT"
    } else if declared.is_empty() || has(&["BLOB"]) {
        "BLOB"
    } else if has(&["REAL", "FLOA", "DOUB"]) {
        "REAL"
    } else {
        "NUMERIC"
    };
    kind.to_string()
}

/// The affinity a PostgreSQL type (`information_schema.columns.data_type`) stands for.
fn pg_kind(data_type: &str) -> String {
    let kind = match data_type {
        "smallint" | "integer" | "bigint" => "INTEGER",
        "text" | "character varying" | "character" => "TEXT",
        "bytea" => "BLOB",
        "real" | "double precision" => "REAL",
        "numeric" => "NUMERIC",
        other => other,
    };
    kind.to_string()
}

/// A PostgreSQL default without the cast it carries (`'member'::text` is `'member'`).
fn pg_default(default: String) -> String {
    match default.rsplit_once("::") {
        Some((literal, _)) if literal.starts_with('\'') && literal.ends_with('\'') => {
            literal.to_string()
        }
        _ => default,
    }
}

/// The tables of a SQLite database (SQLite's own left out).
fn sqlite_schema(tx: &Tx) -> DbResult<Schema> {
    let rows = tx.query_map(
        "SELECT m.name, c.name, c.type, c.\"notnull\", c.pk, c.dflt_value
             FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY m.name, c.cid",
        &[],
        |r| {
            let key: i64 = r.get(4)?;
            // SQLite lets a primary key column of a rowid table hold NULL unless it says
            // NOT NULL (a bug it keeps for compatibility); the server never stores one,
            // and PostgreSQL makes every key column NOT NULL.
            let not_null = r.get::<bool>(3)? || key > 0;
            let column = Column {
                kind: sqlite_kind(&r.get::<String>(2)?),
                not_null,
                key,
                default: r.get(5)?,
            };
            Ok((r.get::<String>(0)?, r.get::<String>(1)?, column))
        },
    )?;
    Ok(collect(rows))
}

/// The tables of the PostgreSQL database's current schema, without `schema_migrations`
/// (PostgreSQL's record of the steps run; SQLite keeps it in `PRAGMA user_version`) and
/// the identity `rowid` columns that stand for SQLite's implicit rowid.
fn pg_schema(tx: &Tx) -> DbResult<Schema> {
    let rows = tx.query_map(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                c.is_nullable::text, COALESCE(k.ordinal_position, 0)::bigint,
                c.column_default::text
             FROM information_schema.columns c
             JOIN information_schema.tables t
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             LEFT JOIN information_schema.table_constraints p
                 ON p.table_schema = c.table_schema AND p.table_name = c.table_name
                 AND p.constraint_type = 'PRIMARY KEY'
             LEFT JOIN information_schema.key_column_usage k
                 ON k.constraint_schema = p.constraint_schema
                 AND k.constraint_name = p.constraint_name
                 AND k.column_name = c.column_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                 AND c.table_name <> 'schema_migrations' AND c.column_name <> 'rowid'
             ORDER BY c.table_name, c.ordinal_position",
        &[],
        |r| {
            let column = Column {
                kind: pg_kind(&r.get::<String>(2)?),
                not_null: r.get::<String>(3)? == "NO",
                key: r.get(4)?,
                default: r.get::<Option<String>>(5)?.map(pg_default),
            };
            Ok((r.get::<String>(0)?, r.get::<String>(1)?, column))
        },
    )?;
    Ok(collect(rows))
}

/// `(table, column, description)` rows as a [`Schema`].
fn collect(rows: Vec<(String, String, Column)>) -> Schema {
    let mut schema = Schema::new();
    for (table, name, column) in rows {
        schema.entry(table).or_default().insert(name, column);
    }
    schema
}

/// What differs between the two schemas, one line per table or column.
fn differences(sqlite: &Schema, pg: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let tables: BTreeSet<&String> = sqlite.keys().chain(pg.keys()).collect();
    for table in tables {
        let (ours, theirs) = match (sqlite.get(table), pg.get(table)) {
            (Some(ours), Some(theirs)) => (ours, theirs),
            (Some(_), None) => {
                found.push(format!("table {table}: only on SQLite"));
                continue;
            }
            (None, _) => {
                found.push(format!("table {table}: only on PostgreSQL"));
                continue;
            }
        };
        let columns: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
        for column in columns {
            match (ours.get(column), theirs.get(column)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => {
                    found.push(format!("{table}.{column}: SQLite {a}, PostgreSQL {b}"))
                }
                (Some(a), None) => found.push(format!("{table}.{column}: only on SQLite ({a})")),
                (None, Some(b)) => {
                    found.push(format!("{table}.{column}: only on PostgreSQL ({b})"));
                }
                (None, None) => {}
            }
        }
    }
    found
}

#[test]
fn differences_name_the_table_and_the_column() {
    let column = |kind: &str, not_null, key| Column {
        kind: kind.to_string(),
        not_null,
        key,
        default: None,
    };
    let schema = |tables: &[(&str, &[(&str, Column)])]| -> Schema {
        tables
            .iter()
            .map(|(table, columns)| {
                let columns = columns
                    .iter()
                    .map(|(name, c)| (name.to_string(), c.clone()))
                    .collect();
                (table.to_string(), columns)
            })
            .collect()
    };
    let sqlite = schema(&[
        (
            "users",
            &[
                ("id", column("TEXT", true, 1)),
                ("email", column("TEXT", true, 0)),
                ("age", column("INTEGER", false, 0)),
            ],
        ),
        ("only_here", &[("x", column("BLOB", false, 0))]),
    ]);
    let pg = schema(&[
        (
            "users",
            &[
                ("id", column("TEXT", true, 1)),
                ("email", column("TEXT", false, 0)),
                ("name", column("TEXT", false, 0)),
            ],
        ),
        ("only_there", &[("y", column("INTEGER", true, 0))]),
    ]);
    assert_eq!(
        differences(&sqlite, &pg),
        [
            "table only_here: only on SQLite",
            "table only_there: only on PostgreSQL",
            "users.age: only on SQLite (INTEGER)",
            "users.email: SQLite TEXT NOT NULL, PostgreSQL TEXT",
            "users.name: only on PostgreSQL (TEXT)",
        ]
    );
    assert!(differences(&sqlite, &sqlite).is_empty());
}

#[test]
fn types_and_defaults_are_normalized() {
    assert_eq!(sqlite_kind("INTEGER"), "INTEGER");
    assert_eq!(sqlite_kind("text"), "TEXT");
    assert_eq!(sqlite_kind(""), "BLOB");
    assert_eq!(sqlite_kind("DOUBLE"), "REAL");
    assert_eq!(pg_kind("bigint"), "INTEGER");
    assert_eq!(pg_kind("bytea"), "BLOB");
    assert_eq!(pg_kind("jsonb"), "jsonb");
    assert_eq!(pg_default("'member'::text".into()), "'member'");
    assert_eq!(pg_default("'a::b'::text".into()), "'a::b'");
    assert_eq!(pg_default("0".into()), "0");
}

mod postgres {
    use super::*;

    /// The admin URL of the test cluster; `None` (after saying so) when there is none and
    /// this is not CI.
    fn cluster() -> Option<String> {
        match std::env::var("MY_SERVER_TEST_PG") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
                assert!(
                    !ci,
                    "MY_SERVER_TEST_PG is not set: comparing the schemas needs a PostgreSQL \
                     cluster; run it with `make test` (or `make test-pg`), which starts one"
                );
                eprintln!(
                    "skipped: MY_SERVER_TEST_PG is not set (`make test` starts a PostgreSQL \
                     cluster)"
                );
                None
            }
        }
    }

    /// The schema of a fresh database at `target`, after the server's migrations.
    fn migrated(target: &Target, read: fn(&Tx) -> DbResult<Schema>) -> Schema {
        let mut db = Db::connect(target).unwrap();
        db.migrate([3; 32], 0).unwrap();
        db.read(read).unwrap()
    }

    #[test]
    fn fresh_sqlite_and_postgresql_databases_have_the_same_schema() {
        if cluster().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let sqlite = migrated(&Target::Sqlite(dir.path().join("s.db")), sqlite_schema);
        let target = db::test_target(dir.path());
        assert!(matches!(target, Target::Pg(_)), "{target}");
        let pg = migrated(&target, pg_schema);
        db::drop_test_target(&target);
        assert!(sqlite.len() > 10, "read only {} tables", sqlite.len());
        let found = differences(&sqlite, &pg);
        assert!(
            found.is_empty(),
            "the SQLite and PostgreSQL schemas differ:\n{}",
            found.join("\n")
        );
    }
}
