//! Where each key of a YAML document stands, so that an error found after parsing (a bad value,
//! an undefined component) can name its line and column as well as its dotted path.
//!
//! The index is built from the parser's events; a document that does not parse yields an empty
//! index (the syntax error itself is reported by the loader with its own position). Only the
//! first document is indexed; where a second one starts, and where this parser found the text
//! malformed, are kept for the loader's errors.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Line and column (both 1-based) of every key and sequence item, by dotted path
/// (`service.pipelines.traces.exporters[0]`); the line the document's content starts on is
/// under `""`.
#[derive(Debug, Default)]
pub struct Locations {
    by_path: HashMap<String, (usize, usize)>,
    /// Where a second YAML document starts, when the text holds more than one.
    second_document: Option<(usize, usize)>,
    /// Where this parser found the text malformed, and why.
    syntax_error: Option<((usize, usize), String)>,
}

impl Locations {
    /// Indexes the first document of `text`.
    pub fn index(text: &str) -> Self {
        let mut walker = Walker::default();
        let parsed = Parser::new_from_str(text).load(&mut walker, true);
        let syntax_error = parsed.as_ref().err().map(|e| {
            let mark = e.marker();
            ((mark.line(), mark.col() + 1), e.info().to_owned())
        });
        Self {
            by_path: if syntax_error.is_none() || walker.documents > 1 {
                walker.by_path
            } else {
                HashMap::new()
            },
            second_document: walker.second_document,
            syntax_error,
        }
    }

    /// Where the text is malformed and why, as this index's parser (yaml-rust2) sees it: for
    /// the errors the loader's parser reports without a position.
    pub fn syntax_error(&self) -> Option<((usize, usize), &str)> {
        self.syntax_error.as_ref().map(|(p, m)| (*p, m.as_str()))
    }

    /// Where the second document starts, when `text` holds several (weir reads one).
    pub fn second_document(&self) -> Option<(usize, usize)> {
        self.second_document
    }

    /// The position of `path`, or of its nearest indexed parent.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.by_path.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    by_path: HashMap<String, (usize, usize)>,
    /// Documents started so far; only the first is indexed.
    documents: usize,
    second_document: Option<(usize, usize)>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Walker {
    /// The path a value starting now would have; records sequence items' positions.
    fn value_path(&mut self, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => {
                // The document itself, at the start of the line its content starts on: where
                // whole-file errors ("must be a mapping") point.
                self.by_path
                    .entry(String::new())
                    .or_insert((mark.line(), 1));
                Some(String::new())
            }
            Some(Frame::Map { path, key }) => key.take().map(|k| join(path, &k)),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.by_path
                    .insert(p.clone(), (mark.line(), mark.col() + 1));
                Some(p)
            }
        }
    }

    /// True when the next scalar is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if ev == Event::DocumentStart {
            self.documents += 1;
            if self.documents == 2 {
                self.second_document = Some((mark.line(), mark.col() + 1));
            }
        }
        if self.documents > 1 {
            return;
        }
        match ev {
            Event::Scalar(text, ..) if self.expecting_key() => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    self.by_path
                        .insert(join(path, &text), (mark.line(), mark.col() + 1));
                    *key = Some(text);
                }
            }
            Event::Scalar(..) | Event::Alias(_) => {
                let _ = self.value_path(mark);
            }
            Event::MappingStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_items_and_nearest_parents() {
        let text = "receivers:\n  otlp:\n    protocols:\n      grpc: {endpoint: x}\nservice:\n  pipelines:\n    traces:\n      exporters: [debug, otlp/x]\n";
        let loc = Locations::index(text);
        assert_eq!(loc.find("receivers.otlp.protocols"), Some((3, 5)));
        assert_eq!(
            loc.find("receivers.otlp.protocols.grpc.endpoint"),
            Some((4, 14))
        );
        assert_eq!(
            loc.find("service.pipelines.traces.exporters[1]"),
            Some((8, 26))
        );
        assert_eq!(loc.find("receivers.otlp.protocols.http"), Some((3, 5)));
        assert_eq!(loc.find("nothing"), None);
    }

    #[test]
    fn the_root_value_has_a_position() {
        assert_eq!(
            Locations::index("\n\n  - a\n  - b\n").find(""),
            Some((3, 1))
        );
        assert_eq!(Locations::index("# note\n5\n").find(""), Some((2, 1)));
        assert_eq!(Locations::index("a: 1\n").find(""), Some((1, 1)));
    }

    #[test]
    fn a_second_document_is_found_and_not_indexed() {
        let loc = Locations::index("a: 1\n---\nb: 2\n");
        assert_eq!(loc.second_document(), Some((2, 1)));
        assert_eq!(loc.find("a"), Some((1, 1)));
        assert_eq!(loc.find("b"), None);
        assert_eq!(Locations::index("---\na: 1\n").second_document(), None);
    }
}
