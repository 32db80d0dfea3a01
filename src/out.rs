//! Writing to stdout (data) and stderr (messages), and asking on the terminal. A closed
//! stdout pipe (`my … | head`) ends the process quietly instead of panicking.

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{self, BufRead, IsTerminal, Write};

/// Prints one line of data on stdout.
pub(crate) fn line(text: impl std::fmt::Display) {
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|_| out.flush()) {
        exit_on_closed_pipe(e);
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => line(s),
        Err(e) => eprintln!("my: cannot encode JSON output: {e}"),
    }
}

/// Prints a message for the person on stderr.
pub(crate) fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Prints rows under a header, each column as wide as its widest cell; a note instead when
/// there are no rows.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        note("None.");
        return;
    }
    for l in aligned(header, &rows) {
        line(l);
    }
}

fn aligned(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    std::iter::once(&head)
        .chain(rows)
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// Asks `question` on stderr and reads one line from the terminal (empty at end of input).
/// Without a terminal it never asks: it returns `no_terminal`, which names the flag that
/// answers instead.
pub(crate) fn ask(question: &str, no_terminal: Error) -> Result<String> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(no_terminal);
    }
    eprint!("{question}");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("cannot read the answer", e))?;
    Ok(answer)
}

fn exit_on_closed_pipe(e: io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("my: cannot write to stdout: {e}");
    std::process::exit(i32::from(crate::error::EXIT_ERROR));
}

#[cfg(test)]
mod tests {
    use super::aligned;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = vec![
            vec!["ci-deploy".to_string(), "é".to_string()],
            vec!["x".to_string(), "long".to_string()],
        ];
        assert_eq!(
            aligned(&["NAME", "V"], &rows),
            ["NAME       V", "ci-deploy  é", "x          long"]
        );
    }
}
