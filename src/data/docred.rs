//! Reader for DocRED-style JSON (DocRED, Re-DocRED): a list of documents, each with `title`,
//! `sents`, `vertexSet` (entities as lists of mentions) and, in labelled splits, `labels`.
//!
//! The top level is parsed as a list of untyped values first and every document field on its
//! own, so an error names the document (index and title) and the exact field
//! (`vertexSet[3][1].pos`). Unknown fields (Re-DocRED adds some) are ignored.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{Dataset, DatasetKind, Document, Entity, Fact, Mention, RelationVocab};
use crate::error::{AtlopError, DocRef, Result};

/// One `vertexSet` mention as DocRED spells it.
#[derive(Debug, Deserialize)]
struct RawMention {
    name: String,
    /// Word span `[start, end)` inside the sentence.
    pos: [usize; 2],
    sent_id: usize,
    #[serde(rename = "type")]
    entity_type: String,
}

/// One `labels` entry: relation `r` (a P-id) from entity `h` to entity `t`.
#[derive(Debug, Deserialize)]
struct RawLabel {
    h: usize,
    t: usize,
    r: String,
    #[serde(default)]
    evidence: Vec<usize>,
}

/// Reads a DocRED / Re-DocRED JSON file. Relations must be known to `vocab`; a file without
/// `labels` keys (DocRED `test.json`) gives documents with `facts: None`.
pub fn read_docred(path: &Path, vocab: &RelationVocab) -> Result<Dataset> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    parse_docred(&text, path, vocab)
}

/// Parses the text of a DocRED JSON file; `path` only names the file in errors.
pub fn parse_docred(text: &str, path: &Path, vocab: &RelationVocab) -> Result<Dataset> {
    let values: Vec<Value> = serde_json::from_str(text).map_err(|source| AtlopError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let documents = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| DocParser { path, index, vocab }.parse(value))
        .collect::<Result<Vec<_>>>()?;
    Ok(Dataset {
        path: path.to_path_buf(),
        kind: DatasetKind::Docred,
        documents,
    })
}

/// Parses one DocRED document (one element of the file's top-level list) at position `index`
/// of `path`; every error names the document and the field. Lets callers that must not stop at
/// a bad document (`atlop predict`) report it and go on.
pub fn parse_docred_document(
    value: Value,
    index: usize,
    path: &Path,
    vocab: &RelationVocab,
) -> Result<Document> {
    DocParser { path, index, vocab }.parse(value)
}

/// Parses one document, remembering where it is so every error can say so.
struct DocParser<'a> {
    path: &'a Path,
    index: usize,
    vocab: &'a RelationVocab,
}

impl DocParser<'_> {
    fn parse(&self, mut value: Value) -> Result<Document> {
        let title: String = self.field(
            &mut value,
            "title",
            &DocRef {
                index: self.index,
                title: String::new(),
            },
        )?;
        let doc = DocRef {
            index: self.index,
            title: title.clone(),
        };
        let sents: Vec<Vec<String>> = self.field(&mut value, "sents", &doc)?;
        if sents.is_empty() {
            return Err(self.error(&doc, "sents", "the document has no sentences"));
        }
        let raw_entities: Vec<Value> = self.field(&mut value, "vertexSet", &doc)?;
        if raw_entities.is_empty() {
            return Err(self.error(&doc, "vertexSet", "the document has no entities"));
        }
        let entities = raw_entities
            .into_iter()
            .enumerate()
            .map(|(e, v)| self.entity(v, e, &sents, &doc))
            .collect::<Result<Vec<Entity>>>()?;
        warn_duplicate_entities(self.path, &doc, &entities);
        let facts = match value.get_mut("labels").map(Value::take) {
            None | Some(Value::Null) => None,
            Some(labels) => Some(self.facts(labels, entities.len(), sents.len(), &doc)?),
        };
        Ok(Document {
            title,
            sents,
            entities,
            facts,
            candidate_pairs: None,
        })
    }

    fn entity(
        &self,
        value: Value,
        e: usize,
        sents: &[Vec<String>],
        doc: &DocRef,
    ) -> Result<Entity> {
        let field = format!("vertexSet[{e}]");
        let raw: Vec<Value> = self.convert(value, &field, doc)?;
        if raw.is_empty() {
            return Err(self.error(doc, &field, "the entity has no mentions"));
        }
        let mut mentions = Vec::with_capacity(raw.len());
        for (m, value) in raw.into_iter().enumerate() {
            let field = format!("vertexSet[{e}][{m}]");
            let raw: RawMention = self.convert(value, &field, doc)?;
            let Some(sent) = sents.get(raw.sent_id) else {
                return Err(self.error(
                    doc,
                    &format!("{field}.sent_id"),
                    format!(
                        "sentence {} does not exist ({} sentences)",
                        raw.sent_id,
                        sents.len()
                    ),
                ));
            };
            let [start, end] = raw.pos;
            if start >= end || end > sent.len() {
                return Err(self.error(
                    doc,
                    &format!("{field}.pos"),
                    format!(
                        "span [{start}, {end}) is empty or outside sentence {} ({} words)",
                        raw.sent_id,
                        sent.len()
                    ),
                ));
            }
            if !ENTITY_TYPES.contains(&raw.entity_type.as_str()) {
                return Err(self.error(
                    doc,
                    &format!("{field}.type"),
                    format!(
                        "unknown entity type {:?} (DocRED's are {})",
                        raw.entity_type,
                        ENTITY_TYPES.join(", ")
                    ),
                ));
            }
            mentions.push(Mention {
                name: raw.name,
                sent_id: raw.sent_id,
                start,
                end,
                entity_type: raw.entity_type,
            });
        }
        Ok(Entity { mentions })
    }

    fn facts(
        &self,
        labels: Value,
        num_entities: usize,
        num_sents: usize,
        doc: &DocRef,
    ) -> Result<Vec<Fact>> {
        let raw: Vec<Value> = self.convert(labels, "labels", doc)?;
        let mut facts: Vec<Fact> = Vec::with_capacity(raw.len());
        for (i, value) in raw.into_iter().enumerate() {
            let field = format!("labels[{i}]");
            let label: RawLabel = self.convert(value, &field, doc)?;
            for (name, id) in [("h", label.h), ("t", label.t)] {
                if id >= num_entities {
                    return Err(self.error(
                        doc,
                        &format!("{field}.{name}"),
                        format!("entity {id} is outside vertexSet ({num_entities} entities)"),
                    ));
                }
            }
            let relation = match self.vocab.id(&label.r) {
                Some(r) if r > 0 => r,
                _ => {
                    return Err(self.error(
                        doc,
                        &format!("{field}.r"),
                        format!(
                            "unknown relation {:?} (the vocabulary has {} relations)",
                            label.r,
                            self.vocab.num_classes().saturating_sub(1)
                        ),
                    ))
                }
            };
            if let Some(&bad) = label.evidence.iter().find(|&&s| s >= num_sents) {
                return Err(self.error(
                    doc,
                    &format!("{field}.evidence"),
                    format!("sentence {bad} does not exist ({num_sents} sentences)"),
                ));
            }
            // The official scorer counts a fact once; a repeated label is an error in the file.
            let same = |f: &Fact| (f.head, f.tail, f.relation) == (label.h, label.t, relation);
            if let Some(j) = facts.iter().position(same) {
                return Err(self.error(
                    doc,
                    &field,
                    format!(
                        "repeats labels[{j}] ({}, {}, {})",
                        label.h, label.t, label.r
                    ),
                ));
            }
            facts.push(Fact {
                head: label.h,
                tail: label.t,
                relation,
                evidence: label.evidence,
            });
        }
        Ok(facts)
    }

    /// Takes a required field out of the document object and converts it.
    fn field<T: DeserializeOwned>(&self, value: &mut Value, key: &str, doc: &DocRef) -> Result<T> {
        match value.get_mut(key).map(Value::take) {
            Some(v) => self.convert(v, key, doc),
            None if !value.is_object() => {
                Err(self.error(doc, key, "the document is not a JSON object"))
            }
            None => Err(self.error(doc, key, "missing field")),
        }
    }

    fn convert<T: DeserializeOwned>(&self, value: Value, field: &str, doc: &DocRef) -> Result<T> {
        serde_json::from_value(value).map_err(|e| self.error(doc, field, e.to_string()))
    }

    fn error(&self, doc: &DocRef, field: &str, message: impl Into<String>) -> AtlopError {
        AtlopError::document(self.path, doc.clone(), field, message)
    }
}

/// DocRED's entity types (`ner2id.json` without `BLANK`).
pub const ENTITY_TYPES: [&str; 6] = ["ORG", "LOC", "TIME", "PER", "MISC", "NUM"];

/// Two entities with the same mentions split one entity's relations between them: legal in the
/// format (Re-DocRED's dev and test files each have one such pair), so a warning, not an error.
fn warn_duplicate_entities(path: &Path, doc: &DocRef, entities: &[Entity]) {
    let key = |e: &Entity| -> Vec<(usize, usize, usize)> {
        let mut spans: Vec<_> = e
            .mentions
            .iter()
            .map(|m| (m.sent_id, m.start, m.end))
            .collect();
        spans.sort_unstable();
        spans
    };
    let keys: Vec<_> = entities.iter().map(key).collect();
    for (i, k) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|other| other == k) {
            crate::error::warn_once(format!(
                "{}: {doc}: field `vertexSet[{i}]`: the same mentions as vertexSet[{j}]",
                path.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> RelationVocab {
        RelationVocab::from_labels(vec!["Na".into(), "P17".into()])
    }

    fn parse(text: &str) -> Result<Dataset> {
        parse_docred(text, Path::new("mem.json"), &vocab())
    }

    const DOC: &str = r#"[{"title": "T", "sents": [["A", "b", "C"]],
        "vertexSet": [[{"name": "A", "pos": [0, 1], "sent_id": 0, "type": "LOC", "global_pos": [0, 0]}],
                      [{"name": "C", "pos": [2, 3], "sent_id": 0, "type": "LOC"}]],
        "labels": [{"h": 0, "t": 1, "r": "P17", "evidence": [0]}]}]"#;

    #[test]
    fn reads_a_document_and_ignores_extra_fields() {
        let ds = parse(DOC).unwrap();
        let doc = &ds.documents[0];
        assert_eq!(doc.entities.len(), 2);
        assert_eq!(doc.entities[1].mentions[0].start, 2);
        let facts = doc.facts.as_ref().unwrap();
        assert_eq!((facts[0].head, facts[0].tail, facts[0].relation), (0, 1, 1));
    }

    #[test]
    fn absent_labels_means_unlabelled() {
        let text = DOC.replace(r#""labels""#, r#""other""#);
        let ds = parse(&text).unwrap();
        assert!(ds.documents[0].facts.is_none());
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = DOC.replace(
            r#""sent_id": 0, "type": "LOC"}]]"#,
            r#""sent_id": "x", "type": "LOC"}]]"#,
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("vertexSet[1][0]") && msg.contains("\"T\""),
            "{msg}"
        );
    }

    #[test]
    fn repeated_labels_bad_evidence_and_unknown_types_name_the_field() {
        let label = r#"{"h": 0, "t": 1, "r": "P17", "evidence": [0]}"#;
        let twice = DOC.replace(label, &format!("{label}, {label}"));
        let msg = parse(&twice).unwrap_err().to_string();
        assert!(
            msg.contains("labels[1]") && msg.contains("repeats labels[0]"),
            "{msg}"
        );
        let evidence = DOC.replace(r#""evidence": [0]"#, r#""evidence": [999]"#);
        let msg = parse(&evidence).unwrap_err().to_string();
        assert!(
            msg.contains("labels[0].evidence") && msg.contains("999"),
            "{msg}"
        );
        let typed = DOC.replace(r#""type": "LOC"}]]"#, r#""type": "GENE"}]]"#);
        let msg = parse(&typed).unwrap_err().to_string();
        assert!(
            msg.contains("vertexSet[1][0].type") && msg.contains("GENE"),
            "{msg}"
        );
    }
}
