//! What a prediction rests on: the localized-context weights `a^(s,o)` of a pair (paper
//! Sec. 2.3, Eq. 11), which the paper's Figure 5 shows picking out the evidence tokens. Word
//! pieces are merged back into the document's words (summing their weights; the `*` markers
//! and special tokens carry none), and words into sentences, whose sums rank the evidence.

use crate::data::Document;

/// Sentences listed as evidence per pair.
pub const EVIDENCE_SENTENCES: usize = 3;
/// Words highlighted per pair in the terminal rendering.
pub const TOP_WORDS: usize = 5;

/// A word (global index over all sentences) and its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordWeight {
    pub word: usize,
    pub weight: f32,
}

/// The localized-context weights of one entity pair, per word and per sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct PairExplanation {
    pub head: usize,
    pub tail: usize,
    /// One per word of the document (0 for words cut off by `max_len`). `[words]`
    pub word_weights: Vec<f32>,
    /// `word_weights` summed per sentence. `[sentences]`
    pub sentence_weights: Vec<f32>,
}

/// Merges a pair's token weights `[tokens]` into words and sentences; `token_words` maps each
/// token to its word (`None` for markers and special tokens).
pub fn explain_pair(
    doc: &Document,
    head: usize,
    tail: usize,
    token_weights: &[f32],
    token_words: &[Option<usize>],
) -> PairExplanation {
    let mut word_weights = vec![0.0f32; doc.num_words()];
    for (&w, word) in token_weights.iter().zip(token_words) {
        if let Some(slot) = word.and_then(|i| word_weights.get_mut(i)) {
            *slot += w;
        }
    }
    let mut sentence_weights = Vec::with_capacity(doc.sents.len());
    let mut start = 0;
    for sent in &doc.sents {
        let end = (start + sent.len()).min(word_weights.len());
        sentence_weights.push(word_weights[start..end].iter().sum());
        start = end;
    }
    PairExplanation {
        head,
        tail,
        word_weights,
        sentence_weights,
    }
}

/// Indices of the `k` largest values above 0, largest first (ties: earlier first): a sentence
/// or word the pair gave no weight is no evidence, so it is never listed.
fn top_indices(values: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

impl PairExplanation {
    /// The (at most) `k` sentences with the most weight: `(sentence id, summed weight)`.
    pub fn evidence(&self, k: usize) -> Vec<(usize, f32)> {
        top_indices(&self.sentence_weights, k)
            .into_iter()
            .map(|s| (s, self.sentence_weights[s]))
            .collect()
    }

    /// The `k` words with the most weight.
    pub fn top_words(&self, k: usize) -> Vec<WordWeight> {
        top_indices(&self.word_weights, k)
            .into_iter()
            .map(|word| WordWeight {
                word,
                weight: self.word_weights[word],
            })
            .collect()
    }
}

/// The first mention's surface text of entity `e`.
pub fn entity_name(doc: &Document, e: usize) -> String {
    doc.entities
        .get(e)
        .and_then(|entity| entity.mentions.first())
        .map(|m| m.name.clone())
        .unwrap_or_else(|| format!("entity {e}"))
}

/// The document's text with the pair's top words marked: ANSI bold yellow when `color`
/// (a terminal), `[[word]]` otherwise.
pub fn highlighted_text(doc: &Document, pair: &PairExplanation, color: bool) -> String {
    let top: Vec<usize> = pair
        .top_words(TOP_WORDS)
        .into_iter()
        .filter(|w| w.weight > 0.0)
        .map(|w| w.word)
        .collect();
    let words =
        doc.sents
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, word)| match (top.contains(&i), color) {
                (false, _) => word.clone(),
                (true, true) => format!("\x1b[1;33m{word}\x1b[0m"),
                (true, false) => format!("[[{word}]]"),
            });
    words.collect::<Vec<_>>().join(" ")
}

/// The terminal explanation of one pair: evidence sentences with their weights, then the text.
pub fn render_pair(doc: &Document, pair: &PairExplanation, color: bool) -> String {
    let mut out = format!(
        "  evidence of ({}) -> ({}):\n",
        entity_name(doc, pair.head),
        entity_name(doc, pair.tail)
    );
    for (s, weight) in pair.evidence(EVIDENCE_SENTENCES) {
        let text = doc.sents.get(s).map(|w| w.join(" ")).unwrap_or_default();
        out.push_str(&format!("    sentence {s} ({weight:.3}): {text}\n"));
    }
    out.push_str(&format!("  {}\n", highlighted_text(doc, pair, color)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Entity, Mention};

    fn doc() -> Document {
        let mention = |name: &str, sent_id, start| Mention {
            name: name.into(),
            sent_id,
            start,
            end: start + 1,
            entity_type: "PER".into(),
        };
        Document {
            title: "t".into(),
            sents: vec![
                vec!["John".into(), "ran".into()],
                vec!["He".into(), "won".into(), "Bendigo".into()],
            ],
            entities: vec![
                Entity {
                    mentions: vec![mention("John", 0, 0)],
                },
                Entity {
                    mentions: vec![mention("Bendigo", 1, 2)],
                },
            ],
            facts: None,
            candidate_pairs: None,
        }
    }

    #[test]
    fn pieces_merge_into_words_and_sentences() {
        // [CLS] * John * ran He won Ben ##digo [SEP]
        let words = [
            None,
            None,
            Some(0),
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(4),
            None,
        ];
        let weights = [0.5, 0.1, 0.05, 0.1, 0.05, 0.0, 0.1, 0.2, 0.3, 0.6];
        let pair = explain_pair(&doc(), 0, 1, &weights, &words);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(pair.word_weights[4], 0.5));
        assert!(close(pair.sentence_weights[0], 0.1) && close(pair.sentence_weights[1], 0.6));
        assert_eq!(pair.evidence(1)[0].0, 1);
        assert_eq!(pair.top_words(1)[0].word, 4);
        // Word 2 ("He") got no weight: never listed as evidence of the pair.
        assert!(pair
            .top_words(10)
            .iter()
            .all(|w| w.weight > 0.0 && w.word != 2));
        let unattended = PairExplanation {
            sentence_weights: vec![0.0, 0.4],
            ..pair.clone()
        };
        assert_eq!(unattended.evidence(3), vec![(1, 0.4)]);
        let text = highlighted_text(&doc(), &pair, false);
        assert!(
            text.contains("[[Bendigo]]") && !text.contains("[[He]]"),
            "{text}"
        );
        assert!(highlighted_text(&doc(), &pair, true).contains("\x1b[1;33mBendigo"));
        assert!(render_pair(&doc(), &pair, false).contains("sentence 1 (0.600)"));
    }
}
