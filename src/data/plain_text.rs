//! A light input format for prediction: JSON lines, one document per line,
//! `{"title"?: "...", "text": "...", "entities": [{"type"?: "...", "mentions": [[start, end], ...]}]}`
//! with mentions as `[start, end)` CHARACTER offsets into `text`. Turned into the DocRED
//! structure by rule-based splitting: sentences end at `.`, `!` or `?` followed by whitespace
//! (or the end); words are runs of letters and digits, and every other non-space character is a
//! word of its own. A mention becomes the words its span overlaps, which must lie in one
//! sentence.

use std::path::Path;

use serde::Deserialize;

use super::{Document, Entity, Mention};
use crate::error::{AtlopError, DocRef, Result};

/// Entity type when the input gives none (DocRED's catch-all).
const DEFAULT_TYPE: &str = "MISC";

#[derive(Debug, Deserialize)]
struct RawDocument {
    #[serde(default)]
    title: Option<String>,
    text: String,
    entities: Vec<RawEntity>,
}

#[derive(Debug, Deserialize)]
struct RawEntity {
    #[serde(rename = "type", default)]
    entity_type: Option<String>,
    mentions: Vec<[usize; 2]>,
}

/// A word of the text and its `[start, end)` character span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into sentences of words (see the module comment); offsets count characters.
pub fn split_text(text: &str) -> Vec<Vec<Word>> {
    let chars: Vec<char> = text.chars().collect();
    let mut sents = Vec::new();
    let mut sent: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_alphanumeric() {
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
        } else {
            i += 1;
        }
        sent.push(Word {
            text: chars[start..i].iter().collect(),
            start,
            end: i,
        });
        let ends_sentence = matches!(c, '.' | '!' | '?')
            && i - start == 1
            && chars.get(i).is_none_or(|n| n.is_whitespace());
        if ends_sentence {
            sents.push(std::mem::take(&mut sent));
        }
    }
    if !sent.is_empty() {
        sents.push(sent);
    }
    sents
}

/// Parses one line (document `index` of `path`) into a [`Document`] without facts.
pub fn parse_plain_document(line: &str, index: usize, path: &Path) -> Result<Document> {
    let doc_ref = |title: &str| DocRef {
        index,
        title: title.to_string(),
    };
    let raw: RawDocument = serde_json::from_str(line)
        .map_err(|e| AtlopError::document(path, doc_ref(""), "(document)", e.to_string()))?;
    let title = raw.title.unwrap_or_default();
    let error = |field: String, message: String| {
        AtlopError::document(path, doc_ref(&title), field, message)
    };
    let sents = split_text(&raw.text);
    if sents.is_empty() {
        return Err(error("text".into(), "the document has no words".into()));
    }
    if raw.entities.is_empty() {
        return Err(error(
            "entities".into(),
            "the document has no entities".into(),
        ));
    }
    let num_chars = raw.text.chars().count();
    let chars: Vec<char> = raw.text.chars().collect();
    let mut entities = Vec::with_capacity(raw.entities.len());
    for (e, entity) in raw.entities.into_iter().enumerate() {
        if entity.mentions.is_empty() {
            return Err(error(
                format!("entities[{e}].mentions"),
                "the entity has no mentions".into(),
            ));
        }
        let entity_type = entity.entity_type.unwrap_or_else(|| DEFAULT_TYPE.into());
        if !super::docred::ENTITY_TYPES.contains(&entity_type.as_str()) {
            return Err(error(
                format!("entities[{e}].type"),
                format!(
                    "unknown entity type {entity_type:?} (the model knows {})",
                    super::docred::ENTITY_TYPES.join(", ")
                ),
            ));
        }
        let mut mentions = Vec::with_capacity(entity.mentions.len());
        for (m, [start, end]) in entity.mentions.into_iter().enumerate() {
            let field = format!("entities[{e}].mentions[{m}]");
            if start >= end || end > num_chars {
                return Err(error(
                    field,
                    format!(
                        "span [{start}, {end}) is empty or outside the text ({num_chars} \
                         characters; spans are character offsets, not bytes)"
                    ),
                ));
            }
            let hits: Vec<(usize, usize)> = sents
                .iter()
                .enumerate()
                .flat_map(|(s, words)| {
                    words
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.start < end && w.end > start)
                        .map(move |(i, _)| (s, i))
                })
                .collect();
            let (Some(&(sent_id, first)), Some(&(last_sent, last))) = (hits.first(), hits.last())
            else {
                return Err(error(
                    field,
                    format!("span [{start}, {end}) covers no word"),
                ));
            };
            // A span cutting a word is most often a byte offset into non-ASCII text, which
            // selects other characters: refuse it rather than guess.
            let cut = |(s, i): (usize, usize)| {
                let w = &sents[s][i];
                w.start < start || w.end > end
            };
            if cut((sent_id, first)) || cut((last_sent, last)) {
                return Err(error(
                    field,
                    format!(
                        "span [{start}, {end}) ({:?}) starts or ends inside a word: spans are \
                         CHARACTER offsets (Unicode scalar values), not bytes, and must cover \
                         whole words",
                        chars[start..end].iter().collect::<String>()
                    ),
                ));
            }
            if sent_id != last_sent {
                return Err(error(
                    field,
                    format!(
                        "span [{start}, {end}) crosses from sentence {sent_id} into sentence \
                         {last_sent}"
                    ),
                ));
            }
            mentions.push(Mention {
                name: chars[start..end].iter().collect(),
                sent_id,
                start: first,
                end: last + 1,
                entity_type: entity_type.clone(),
            });
        }
        entities.push(Entity { mentions });
    }
    Ok(Document {
        title,
        sents: sents
            .into_iter()
            .map(|s| s.into_iter().map(|w| w.text).collect())
            .collect(),
        entities,
        facts: None,
        candidate_pairs: None,
    })
}

/// Reads a JSON-lines file: one result per non-blank line, so a bad document can be reported
/// and skipped while the others are kept.
pub fn read_plain_text(path: &Path) -> Result<Vec<Result<Document>>> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(index, line)| parse_plain_document(line, index, path))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "John Stanistreet was an Australian politician. He was born in Bendigo.";

    fn parse(entities: &str) -> Result<Document> {
        let line = format!(r#"{{"title": "JS", "text": "{TEXT}", "entities": {entities}}}"#);
        parse_plain_document(&line, 2, Path::new("in.jsonl"))
    }

    #[test]
    fn splits_sentences_and_words() {
        let sents = split_text("Hello, world! It costs 3.5 dollars.");
        let words: Vec<Vec<&str>> = sents
            .iter()
            .map(|s| s.iter().map(|w| w.text.as_str()).collect())
            .collect();
        assert_eq!(
            words,
            vec![
                vec!["Hello", ",", "world", "!"],
                vec!["It", "costs", "3", ".", "5", "dollars", "."]
            ]
        );
        assert_eq!((sents[0][2].start, sents[0][2].end), (7, 12));
    }

    #[test]
    fn maps_character_spans_to_words() {
        let doc = parse(
            r#"[{"type": "PER", "mentions": [[0, 16], [47, 49]]}, {"mentions": [[62, 69]]}]"#,
        )
        .unwrap();
        assert_eq!(doc.sents.len(), 2);
        let john = &doc.entities[0].mentions;
        assert_eq!((john[0].sent_id, john[0].start, john[0].end), (0, 0, 2));
        assert_eq!(john[0].name, "John Stanistreet");
        assert_eq!((john[1].sent_id, john[1].start, john[1].end), (1, 0, 1));
        let bendigo = &doc.entities[1].mentions[0];
        assert_eq!(
            (
                bendigo.name.as_str(),
                bendigo.start,
                bendigo.entity_type.as_str()
            ),
            ("Bendigo", 4, "MISC")
        );
    }

    #[test]
    fn bad_spans_name_the_document_and_entity() {
        let msg = parse(r#"[{"mentions": [[0, 4]]}, {"mentions": [[60, 500]]}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("\"JS\"")
                && msg.contains("entities[1].mentions[0]")
                && msg.contains("outside"),
            "{msg}"
        );
        let msg = parse(r#"[{"mentions": [[35, 50]]}]"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("crosses"), "{msg}");
        let empty = parse_plain_document(r#"{"text": " ", "entities": []}"#, 0, Path::new("x"));
        assert!(empty.unwrap_err().to_string().contains("no words"));
    }

    #[test]
    fn spans_inside_words_and_unknown_types_are_refused() {
        // What a byte offset into non-ASCII text looks like: the span cuts a word.
        let msg = parse(r#"[{"mentions": [[1, 16]]}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("entities[0].mentions[0]") && msg.contains("CHARACTER offsets"),
            "{msg}"
        );
        let msg = parse(r#"[{"type": "GENE", "mentions": [[0, 16]]}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("entities[0].type") && msg.contains("GENE"),
            "{msg}"
        );
    }
}
