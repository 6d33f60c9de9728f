//! Reader for the EoG `.data` format of CDR (`*_filter.data`) and GDA (`train/dev/test.data`),
//! mapped onto [`Document`] so that featurizing reproduces the reference ATLOP `read_cdr` /
//! `read_gda` exactly (paper, Section 4.1 "Datasets").
//!
//! One document per line, tab-separated: PMID, text (sentences joined by `|`, words by spaces),
//! then one 17-field chunk per candidate pair: [0] label, [1] direction `L2R`/`R2L`, [5]/[11]
//! entity ids, [6]/[12] mention names (`|`-separated), [7]/[13] types, [8]/[14] mention starts and
//! [9]/[15] exclusive ends (`:`-separated word offsets over the whole document).
//!
//! How the reference's choices land in a [`Document`]:
//! - entities are numbered in order of first appearance (head, then tail, after the `R2L` swap)
//!   among chunks whose label is not `not_include`; their mentions come from that first chunk;
//! - entities seen only in `not_include` chunks follow them, and any typed span of a chunk that
//!   no entity holds yet goes into one extra entity at the end: none of these are in a candidate
//!   pair, but their mentions keep their `*` markers (the reference marks every chunk's spans);
//! - candidate pairs are the included chunks' pairs in file order, de-duplicated; a pair is a
//!   fact when any of its chunks is positive (labels OR-ed); documents without pairs are dropped;
//! - a mention that crossed a sentence boundary would have its sentences joined (word order, and
//!   so the markers, unchanged); none of the CDR files nor GDA `test.data` has one.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{Dataset, DatasetKind, Document, Entity, Fact, Mention, RelationVocab};
use crate::error::{AtlopError, Result};

/// Fields per candidate-pair chunk.
const CHUNK: usize = 17;
const NOT_INCLUDE: &str = "not_include";
const NO_RELATION: &str = "1:NR:2";

/// Reads a CDR or GDA `.data` file; `vocab` is `RelationVocab::bio("CID")` or `bio("GDA")`.
pub fn read_bio(path: &Path, vocab: &RelationVocab) -> Result<Dataset> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    parse_bio(&text, path, vocab)
}

/// The relation a `.data` text labels its positive pairs with (`CID` or `GDA`), read from the
/// first chunk label of the form `1:<relation>:2` other than `1:NR:2`.
pub fn detect_relation(text: &str) -> Option<String> {
    text.split(['\t', '\n']).find_map(|field| {
        let rel = field.strip_prefix("1:")?.strip_suffix(":2")?;
        (rel != "NR" && !rel.is_empty() && !rel.contains(char::is_whitespace))
            .then(|| rel.to_string())
    })
}

/// Parses the text of a `.data` file; `path` only names the file in errors.
pub fn parse_bio(text: &str, path: &Path, vocab: &RelationVocab) -> Result<Dataset> {
    let positive = format!("1:{}:2", vocab.labels.get(1).map_or("", String::as_str));
    let mut seen = HashSet::new();
    let mut documents = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let parser = LineParser {
            path,
            line: i + 1,
            positive: &positive,
        };
        let fields: Vec<&str> = line.split('\t').collect();
        // Duplicate PMIDs after the first are skipped, as the reference does.
        if !seen.insert(fields[0].to_string()) {
            continue;
        }
        if let Some(doc) = parser.document(&fields)? {
            documents.push(doc);
        }
    }
    Ok(Dataset {
        path: path.to_path_buf(),
        kind: DatasetKind::Bio,
        documents,
    })
}

/// A mention as `(start, end, type, name)`, `[start, end)` over the whole document's words.
type Span = (usize, usize, String, String);

/// One side (head or tail) of a chunk: an entity id and its mentions as global word spans.
struct Side {
    id: String,
    spans: Vec<Span>,
}

struct LineParser<'a> {
    path: &'a Path,
    line: usize,
    positive: &'a str,
}

/// The entity types of CDR (chemicals, diseases) and GDA (genes, diseases).
const BIO_TYPES: [&str; 3] = ["Chemical", "Disease", "Gene"];

impl LineParser<'_> {
    fn document(&self, fields: &[&str]) -> Result<Option<Document>> {
        if fields.len() < 2 || !(fields.len() - 2).is_multiple_of(CHUNK) {
            return Err(self.error(
                "pairs",
                format!(
                    "{} fields after PMID and text is not a multiple of {CHUNK}",
                    fields.len().saturating_sub(2)
                ),
            ));
        }
        let sents: Vec<Vec<String>> = fields[1]
            .split('|')
            .map(|s| s.split(' ').map(str::to_string).collect())
            .collect();
        let num_words: usize = sents.iter().map(Vec::len).sum();

        // Entity ids in numbering order, with their mentions; included ones first.
        let mut order: Vec<String> = Vec::new();
        let mut mentions: HashMap<String, Vec<Span>> = HashMap::new();
        let mut excluded: Vec<Side> = Vec::new();
        let mut pairs: Vec<(String, String, bool)> = Vec::new();
        let mut all_spans: Vec<(usize, usize, String)> = Vec::new();
        for (c, chunk) in fields[2..].chunks(CHUNK).enumerate() {
            let left = self.side(chunk, c, 5, num_words)?;
            let right = self.side(chunk, c, 11, num_words)?;
            for s in left.spans.iter().chain(&right.spans) {
                all_spans.push((s.0, s.1, s.2.clone()));
            }
            let label = chunk[0];
            if label == NOT_INCLUDE {
                excluded.extend([left, right]);
                continue;
            }
            let positive = if label == self.positive {
                true
            } else if label == NO_RELATION {
                false
            } else {
                return Err(self.error(
                    &format!("pair {c} label"),
                    format!(
                        "unknown label {label:?} (expected {}, {NO_RELATION} or {NOT_INCLUDE})",
                        self.positive
                    ),
                ));
            };
            let (head, tail) = match chunk[1] {
                "L2R" => (left, right),
                "R2L" => (right, left),
                other => {
                    return Err(self.error(
                        &format!("pair {c} direction"),
                        format!("{other:?} is neither L2R nor R2L"),
                    ))
                }
            };
            pairs.push((head.id.clone(), tail.id.clone(), positive));
            for side in [head, tail] {
                number_entity(&mut order, &mut mentions, side);
            }
        }
        if pairs.is_empty() {
            return Ok(None);
        }
        let included = order.len();
        for side in excluded {
            number_entity(&mut order, &mut mentions, side);
        }
        let mut entity_spans: Vec<Vec<Span>> = order
            .iter()
            .map(|id| mentions.remove(id).unwrap_or_default())
            .collect();
        let held: HashSet<(usize, usize, &str)> = entity_spans
            .iter()
            .flatten()
            .map(|s| (s.0, s.1, s.2.as_str()))
            .collect();
        let mut extra = Vec::new();
        let mut added = HashSet::new();
        for (s, e, ty) in &all_spans {
            if !held.contains(&(*s, *e, ty.as_str())) && added.insert((*s, *e, ty.clone())) {
                extra.push((*s, *e, ty.clone(), String::new()));
            }
        }
        if !extra.is_empty() {
            entity_spans.push(extra);
        }

        let sents = join_crossed_sentences(sents, entity_spans.iter().flatten());
        let entities = entity_spans
            .into_iter()
            .map(|spans| Entity {
                mentions: spans
                    .into_iter()
                    .map(|(s, e, ty, name)| locate(&sents, s, e, ty, name))
                    .collect(),
            })
            .collect();

        let index: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut candidate_pairs: Vec<(usize, usize)> = Vec::new();
        let mut facts: Vec<Fact> = Vec::new();
        for (h, t, positive) in &pairs {
            let pair = (index[h.as_str()], index[t.as_str()]);
            debug_assert!(pair.0 < included && pair.1 < included);
            if !candidate_pairs.contains(&pair) {
                candidate_pairs.push(pair);
            }
            if *positive && !facts.iter().any(|f| (f.head, f.tail) == pair) {
                facts.push(Fact {
                    head: pair.0,
                    tail: pair.1,
                    relation: 1,
                    evidence: Vec::new(),
                });
            }
        }
        Ok(Some(Document {
            title: fields[0].to_string(),
            sents,
            entities,
            facts: Some(facts),
            candidate_pairs: Some(candidate_pairs),
        }))
    }

    /// Reads the entity at `base` (5 or 11): id [base], names [base+1], type [base+2],
    /// starts [base+3], ends [base+4].
    fn side(&self, chunk: &[&str], c: usize, base: usize, num_words: usize) -> Result<Side> {
        let starts = self.offsets(chunk[base + 3], c, base + 3)?;
        let ends = self.offsets(chunk[base + 4], c, base + 4)?;
        if starts.len() != ends.len() {
            return Err(self.error(
                &format!("pair {c} field {}", base + 4),
                format!("{} mention starts but {} ends", starts.len(), ends.len()),
            ));
        }
        let entity_type = chunk[base + 2];
        if !BIO_TYPES.contains(&entity_type) {
            return Err(self.error(
                &format!("pair {c} field {}", base + 2),
                format!(
                    "unknown entity type {entity_type:?} (CDR and GDA use {})",
                    BIO_TYPES.join(", ")
                ),
            ));
        }
        let names: Vec<&str> = chunk[base + 1].split('|').collect();
        let mut spans = Vec::with_capacity(starts.len());
        for (m, (&s, &e)) in starts.iter().zip(&ends).enumerate() {
            if s >= e || e > num_words {
                return Err(self.error(
                    &format!("pair {c} field {}", base + 3),
                    format!(
                        "mention span [{s}, {e}) is empty or outside the text ({num_words} words)"
                    ),
                ));
            }
            let name = names.get(m).copied().unwrap_or_default().to_string();
            spans.push((s, e, chunk[base + 2].to_string(), name));
        }
        Ok(Side {
            id: chunk[base].to_string(),
            spans,
        })
    }

    fn offsets(&self, field: &str, c: usize, f: usize) -> Result<Vec<usize>> {
        field
            .split(':')
            .map(|x| {
                x.parse().map_err(|_| {
                    self.error(
                        &format!("pair {c} field {f}"),
                        format!("{field:?} is not a `:`-separated list of word offsets"),
                    )
                })
            })
            .collect()
    }

    fn error(&self, field: &str, message: impl Into<String>) -> AtlopError {
        AtlopError::Line {
            path: self.path.to_path_buf(),
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Gives `side`'s entity the next number unless it has one; its mentions are the first seen.
fn number_entity(order: &mut Vec<String>, mentions: &mut HashMap<String, Vec<Span>>, side: Side) {
    if let std::collections::hash_map::Entry::Vacant(slot) = mentions.entry(side.id) {
        order.push(slot.key().clone());
        slot.insert(side.spans);
    }
}

/// Joins consecutive sentences wherever a mention `[start, end)` crosses their boundary, so
/// every mention lies inside one sentence while the word order stays the same.
fn join_crossed_sentences<'a>(
    sents: Vec<Vec<String>>,
    spans: impl Iterator<Item = &'a Span>,
) -> Vec<Vec<String>> {
    let sentence_of = sentence_index(&sents);
    // join[k]: the boundary after sentence k goes away.
    let mut join = vec![false; sents.len()];
    for (s, e, _, _) in spans {
        for flag in &mut join[sentence_of[*s]..sentence_of[e - 1]] {
            *flag = true;
        }
    }
    let mut out: Vec<Vec<String>> = Vec::with_capacity(sents.len());
    let mut glue = false;
    for (k, sent) in sents.into_iter().enumerate() {
        match out.last_mut() {
            Some(last) if glue => last.extend(sent),
            _ => out.push(sent),
        }
        glue = join[k];
    }
    out
}

/// Sentence index of every word of the document.
fn sentence_index(sents: &[Vec<String>]) -> Vec<usize> {
    sents
        .iter()
        .enumerate()
        .flat_map(|(k, s)| std::iter::repeat_n(k, s.len()))
        .collect()
}

/// Turns a global word span into a mention inside its sentence (spans are validated and the
/// sentences joined, so the span fits).
fn locate(sents: &[Vec<String>], start: usize, end: usize, ty: String, name: String) -> Mention {
    let mut offset = 0;
    let mut sent_id = 0;
    for (k, s) in sents.iter().enumerate() {
        sent_id = k;
        if start < offset + s.len() {
            break;
        }
        offset += s.len();
    }
    Mention {
        name,
        sent_id,
        start: start - offset,
        end: end - offset,
        entity_type: ty,
    }
}
