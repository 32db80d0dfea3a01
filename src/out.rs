//! Writing to stdout (data) and stderr (messages), and asking on the terminal. A closed
//! stdout pipe (`my … | head`) ends the process quietly instead of panicking.
//!
//! Everything printed here goes through [`sanitize`]: much of it quotes what a server sent
//! (error messages, user codes, URLs, names), and a server must not be able to drive the
//! reader's terminal (`ESC]52` clipboard writes, `ESC]8` hidden links, `ESC[2J`).

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{self, BufRead, IsTerminal, Write};

/// Prints one line of data on stdout.
pub fn line(text: impl std::fmt::Display) {
    let text = sanitize(&text.to_string());
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|_| out.flush()) {
        exit_on_closed_pipe(e);
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => line(s),
        Err(e) => eprintln!("my: cannot encode JSON output: {e}"),
    }
}

/// Prints a message for the person on stderr.
pub fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{}", sanitize(&text.to_string()));
}

/// Text for a terminal: control characters other than tab and newline (ESC, BEL, CR, the C1
/// controls such as CSI) and the bidirectional overrides become U+FFFD, so no escape sequence
/// and no hidden reordering reaches the reader.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if (c.is_control() && c != '\t' && c != '\n') || bidi {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// [`sanitize`]d text on one line: newlines become spaces (an error message is one line
/// whatever the server put in it).
pub fn one_line(text: &str) -> String {
    sanitize(&text.replace(['\n', '\t'], " "))
}

/// Prints rows under a header, each column as wide as its widest cell; a note instead when
/// there are no rows.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
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
pub fn ask(question: &str, no_terminal: Error) -> Result<String> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(no_terminal);
    }
    eprint!("{}", sanitize(question));
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
    use super::{aligned, one_line, sanitize};

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(sanitize("ok\tfine\nnext"), "ok\tfine\nnext");
        assert_eq!(sanitize("\u{1b}[2Jgone"), "\u{fffd}[2Jgone");
        assert_eq!(
            sanitize("\u{1b}]52;c;aGk=\u{7}\u{9b}1m\r\u{202e}x"),
            "\u{fffd}]52;c;aGk=\u{fffd}\u{fffd}1m\u{fffd}\u{fffd}x"
        );
        assert_eq!(one_line("a\nb\u{1b}"), "a b\u{fffd}");
    }

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
