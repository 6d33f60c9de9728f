//! Documents -> model features, exactly as the reference ATLOP preprocessing (Section 2.1):
//! each word is tokenized on its own, a `*` goes before the first piece of every mention and
//! after its last piece, a mention is represented at its leading `*`, the piece list is cut to
//! `max_len - 2` and wrapped in the start / end tokens.
//!
//! The two formats place markers by different rules, both reproduced:
//! - DocRED: at most one `*` per side of a word, from the SETS of mention starts and ends;
//! - CDR/GDA: one `*` per distinct typed span `(start, end, type)` starting (ending) at the word,
//!   so two spans starting at one word give two leading `*`.

use std::collections::{BTreeSet, HashMap};

use burn::config::Config;
use rayon::prelude::*;

use super::tokenizer::DocTokenizer;
use super::Feature;
use crate::data::{Dataset, DatasetKind, Document};
// Not `Result` by name: burn's `Config` derive expands to code that means std's `Result`.
use crate::error::{self, AtlopError, DocRef};

/// How documents become features.
#[derive(Config, Debug, PartialEq)]
pub struct FeatureConfig {
    /// Maximum input length including the two special tokens (the paper's 1024; longer
    /// documents are cut, inputs over 512 are encoded in two windows).
    #[config(default = 1024)]
    pub max_len: usize,
    /// Put `*` around every mention (Section 2.1); off, a mention is its first word piece.
    #[config(default = true)]
    pub entity_markers: bool,
}

/// Featurizes one document; `doc_index` is its position in its dataset and `kind` its source
/// format, which picks the marker rule (see the module comment).
pub fn featurize(
    doc: &Document,
    doc_index: usize,
    kind: DatasetKind,
    tok: &DocTokenizer,
    cfg: &FeatureConfig,
) -> error::Result<Feature> {
    featurize_with_words(doc, doc_index, kind, tok, cfg).map(|(feature, _)| feature)
}

/// [`featurize`], plus the word (global index over all sentences) each token of `input_ids`
/// comes from; `None` for the special tokens and the `*` markers. Explanations use it to merge
/// word pieces back into words.
pub fn featurize_with_words(
    doc: &Document,
    doc_index: usize,
    kind: DatasetKind,
    tok: &DocTokenizer,
    cfg: &FeatureConfig,
) -> error::Result<(Feature, Vec<Option<usize>>)> {
    let doc_ref = || DocRef {
        index: doc_index,
        title: doc.title.clone(),
    };
    let invalid = |field: &str, message: String| {
        AtlopError::Invalid(format!("{}: field `{field}`: {message}", doc_ref()))
    };
    // Global word offset of every sentence.
    let sent_start: Vec<usize> = doc
        .sents
        .iter()
        .scan(0, |acc, s| {
            let start = *acc;
            *acc += s.len();
            Some(start)
        })
        .collect();
    let num_words = doc.num_words();
    // Global [start, end) of every mention, entity-major.
    let mut spans: Vec<Vec<(usize, usize)>> = Vec::with_capacity(doc.entities.len());
    for (e, entity) in doc.entities.iter().enumerate() {
        let mut list = Vec::with_capacity(entity.mentions.len());
        for (m, mention) in entity.mentions.iter().enumerate() {
            let base = sent_start.get(mention.sent_id).copied();
            match base.map(|b| (b + mention.start, b + mention.end)) {
                Some((s, t)) if s < t && t <= num_words => list.push((s, t)),
                _ => {
                    return Err(invalid(
                        &format!("entities[{e}].mentions[{m}]"),
                        "span is empty or outside the document".into(),
                    ))
                }
            }
        }
        spans.push(list);
    }

    // Markers before / after each word.
    let mut before = vec![0usize; num_words];
    let mut after = vec![0usize; num_words];
    if cfg.entity_markers {
        match kind {
            DatasetKind::Docred => {
                for &(s, t) in spans.iter().flatten() {
                    before[s] = 1;
                    after[t - 1] = 1;
                }
            }
            DatasetKind::Bio => {
                let typed: BTreeSet<(usize, usize, &str)> = doc
                    .entities
                    .iter()
                    .zip(&spans)
                    .flat_map(|(e, s)| e.mentions.iter().zip(s))
                    .map(|(m, &(s, t))| (s, t, m.entity_type.as_str()))
                    .collect();
                for (s, t, _) in typed {
                    before[s] += 1;
                    after[t - 1] += 1;
                }
            }
        }
    }

    let marker = tok.marker_id();
    let mut pieces: Vec<u32> = Vec::with_capacity(num_words * 2);
    let mut offset = Vec::with_capacity(num_words);
    let mut piece_words: Vec<Option<usize>> = Vec::with_capacity(num_words * 2);
    for (w, word) in doc.sents.iter().flatten().enumerate() {
        offset.push(pieces.len());
        pieces.extend(std::iter::repeat_n(marker, before[w]));
        let word_pieces = tok.word_pieces(word)?;
        piece_words.extend(std::iter::repeat_n(None, before[w]));
        piece_words.extend(std::iter::repeat_n(Some(w), word_pieces.len()));
        pieces.extend(word_pieces);
        pieces.extend(std::iter::repeat_n(marker, after[w]));
        piece_words.extend(std::iter::repeat_n(None, after[w]));
    }
    let entity_pos = spans
        .iter()
        .map(|list| list.iter().map(|&(s, _)| offset[s]).collect())
        .collect();
    pieces.truncate(cfg.max_len.saturating_sub(2));
    piece_words.truncate(pieces.len());
    let input_ids = tok.with_special_tokens(&pieces);
    // [CLS] words [SEP]: one entry per token of `input_ids`.
    let token_words: Vec<Option<usize>> = std::iter::once(None)
        .chain(piece_words)
        .chain(std::iter::once(None))
        .collect();

    let hts = doc.pairs();
    let index: HashMap<(usize, usize), usize> =
        hts.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut labels: Vec<Vec<usize>> = vec![Vec::new(); hts.len()];
    for (i, fact) in doc.facts.iter().flatten().enumerate() {
        let Some(&row) = index.get(&(fact.head, fact.tail)) else {
            return Err(invalid(
                &format!("facts[{i}]"),
                format!(
                    "pair ({}, {}) is not a candidate pair",
                    fact.head, fact.tail
                ),
            ));
        };
        if fact.relation == 0 {
            return Err(invalid(
                &format!("facts[{i}]"),
                "relation 0 is the NA class".into(),
            ));
        }
        if !labels[row].contains(&fact.relation) {
            labels[row].push(fact.relation);
        }
    }
    labels.iter_mut().for_each(|l| l.sort_unstable());

    let feature = Feature {
        doc_index,
        title: doc.title.clone(),
        input_ids,
        entity_pos,
        hts,
        labels,
    };
    Ok((feature, token_words))
}

/// Featurizes every document of a dataset in parallel, in document order.
pub fn featurize_dataset(
    dataset: &Dataset,
    tok: &DocTokenizer,
    cfg: &FeatureConfig,
) -> error::Result<Vec<Feature>> {
    let features: Vec<Feature> = dataset
        .documents
        .par_iter()
        .enumerate()
        .map(|(i, doc)| {
            featurize(doc, i, dataset.kind, tok, cfg).map_err(|e| match e {
                AtlopError::Invalid(message) => {
                    AtlopError::Invalid(format!("{}: {message}", dataset.path.display()))
                }
                other => other,
            })
        })
        .collect::<error::Result<_>>()?;
    // Per document for the first few, then one line for the rest: a short `max_len` (smoke
    // runs) would otherwise print a line for every document.
    const LISTED: usize = 3;
    let mut lost = (0, 0, 0); // documents, mentions, entities
    for f in &features {
        let (past, entities) = mentions_past_limit(f);
        if past == 0 {
            continue;
        }
        if lost.0 < LISTED {
            crate::error::warn_once(format!(
                "{}: document #{} ({:?}): {past} mention(s) start past max_len = {} tokens and \
                 are not seen by the model; {entities} entit(ies) have no mention left (no \
                 relation can be predicted for them)",
                dataset.path.display(),
                f.doc_index,
                f.title,
                cfg.max_len
            ));
        }
        lost = (lost.0 + 1, lost.1 + past, lost.2 + entities);
    }
    if lost.0 > LISTED {
        crate::error::warn_once(format!(
            "{}: {} documents in all have mentions past max_len = {} ({} mentions, {} entities \
             without any)",
            dataset.path.display(),
            lost.0,
            cfg.max_len,
            lost.1,
            lost.2
        ));
    }
    Ok(features)
}

/// Mentions of `feature` whose marker lies past its (truncated) input, and entities left with
/// none: `(mentions, entities)`.
pub fn mentions_past_limit(feature: &Feature) -> (usize, usize) {
    // The mention's vector is the encoder output at `offset + 1` (after the start token); the
    // batcher keeps it only while that lies inside the input, as the reference does.
    let limit = feature.input_ids.len().saturating_sub(1);
    let mut mentions = 0;
    let mut entities = 0;
    for positions in &feature.entity_pos {
        let past = positions.iter().filter(|&&p| p >= limit).count();
        mentions += past;
        entities += usize::from(past == positions.len() && past > 0);
    }
    (mentions, entities)
}
