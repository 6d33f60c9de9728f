//! One standalone HTML page of explanations (inline CSS, no external assets): per predicted
//! pair, the document's words with a background whose opacity is the word's localized-context
//! weight relative to the pair's largest (Sec. 2.3, as in the paper's Figure 5), the head's and
//! the tail's mentions underlined in their colours, the evidence sentences (the pair's most
//! weighted) framed, and the pair's relations with their scores. When the input has labels,
//! each predicted relation says whether it is gold, and gold relations the model missed are
//! listed. A legend at the top says what each mark means.

use std::collections::BTreeSet;

use super::explanation::{entity_name, PairExplanation, EVIDENCE_SENTENCES};
use super::predictor::{ExplainedPrediction, Score};
use crate::data::{Document, RelationVocab};

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.9}\
section{border-top:1px solid #ccc;padding:.5em 0}\
.tok{background:rgb(255,140,0);border-radius:3px}\
.h{border-bottom:3px solid #1f6feb}\
.t{border-bottom:3px solid #2da44e}\
.ev{outline:2px dashed #8250df;outline-offset:2px}\
.sent sup{color:#888;font-size:.7em;margin-right:.2em}\
.legend{background:#f6f8fa;border:1px solid #ddd;padding:.5em 1em}\
.gold{color:#1a7f37}.wrong{color:#cf222e}.missed{color:#9a6700}\
.rel{font-family:monospace}";

/// What each mark of the page means.
fn legend() -> String {
    format!(
        "<div class=\"legend\"><b>Legend</b>: \
         <span class=\"tok sample\" style=\"background:rgba(255,140,0,1)\">word</span> \
         <span class=\"tok sample\" style=\"background:rgba(255,140,0,0.3)\">word</span> \
         localized-context weight of the word for the pair, darker = more (relative to the \
         pair\u{2019}s largest; hover a word for its value) \u{00b7} \
         <span class=\"h\">head mention</span> \u{00b7} <span class=\"t\">tail mention</span> \
         \u{00b7} <span class=\"ev\">evidence sentence</span> (the {EVIDENCE_SENTENCES} \
         sentences with the most weight; <sup>n</sup> numbers sentences from 0) \u{00b7} \
         <span class=\"gold\">\u{2713} gold</span> predicted and in the labels \u{00b7} \
         <span class=\"wrong\">\u{2717} not gold</span> predicted, not in the labels \
         \u{00b7} <span class=\"missed\">\u{25cb} missed</span> in the labels, not \
         predicted</div>\n"
    )
}

/// `&`, `<`, `>`, `"` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn score_text(score: &Score) -> String {
    match score {
        Score::Margin { margin } => format!("margin over TH {margin:.3}"),
        Score::Probability {
            probability,
            threshold,
        } => format!("p = {probability:.3} (threshold {threshold:.3})"),
    }
}

/// Global word indices of entity `e`'s mentions.
fn mention_words(doc: &Document, e: usize) -> BTreeSet<usize> {
    let mut offsets = Vec::with_capacity(doc.sents.len());
    let mut offset = 0;
    for sent in &doc.sents {
        offsets.push(offset);
        offset += sent.len();
    }
    let mut words = BTreeSet::new();
    for m in doc.entities.get(e).map_or(&[][..], |en| &en.mentions[..]) {
        if let Some(&base) = offsets.get(m.sent_id) {
            words.extend(base + m.start..base + m.end);
        }
    }
    words
}

/// The document sentence by sentence (numbered, evidence framed), each word with weight > 0 in
/// a `<span class="tok">` whose background opacity is its weight over the pair's largest, and
/// the head's and tail's mention words underlined.
fn highlighted(doc: &Document, pair: &PairExplanation, evidence: &[usize]) -> String {
    let max = pair.word_weights.iter().copied().fold(0.0f32, f32::max);
    let (head, tail) = (mention_words(doc, pair.head), mention_words(doc, pair.tail));
    let mut out = String::new();
    let mut i = 0;
    for (s, sent) in doc.sents.iter().enumerate() {
        let class = if evidence.contains(&s) {
            "sent ev"
        } else {
            "sent"
        };
        out.push_str(&format!("<span class=\"{class}\"><sup>{s}</sup>"));
        for (k, word) in sent.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            let mut classes = Vec::new();
            let mut style = String::new();
            let mut title = String::new();
            let weight = pair.word_weights.get(i).copied().unwrap_or(0.0);
            if max > 0.0 && weight > 0.0 {
                let alpha = (weight / max).clamp(0.0, 1.0);
                classes.push("tok");
                style = format!(" style=\"background:rgba(255,140,0,{alpha:.3})\"");
                title = format!(" title=\"{weight:.4}\"");
            }
            if head.contains(&i) {
                classes.push("h");
            }
            if tail.contains(&i) {
                classes.push("t");
            }
            if classes.is_empty() {
                out.push_str(&escape(word));
            } else {
                out.push_str(&format!(
                    "<span class=\"{}\"{style}{title}>{}</span>",
                    classes.join(" "),
                    escape(word)
                ));
            }
            i += 1;
        }
        out.push_str("</span> ");
    }
    out
}

/// A gold relation as `P17 country`.
fn relation_text(vocab: &RelationVocab, relation: usize) -> String {
    let code = vocab
        .labels
        .get(relation)
        .cloned()
        .unwrap_or_else(|| format!("#{relation}"));
    match vocab.descriptions.get(&code) {
        Some(name) => format!("{code} {name}"),
        None => code,
    }
}

/// The page for `docs` and their explained predictions (matched by `prediction.index`);
/// `vocab` names the gold relations of labelled documents.
pub fn render_page(
    docs: &[(usize, &Document)],
    explained: &[ExplainedPrediction],
    vocab: &RelationVocab,
) -> String {
    let mut body = legend();
    for e in explained {
        let Some(&(_, doc)) = docs.iter().find(|(i, _)| *i == e.prediction.index) else {
            continue;
        };
        body.push_str(&format!(
            "<h2>#{} {}</h2>\n",
            e.prediction.index,
            escape(&e.prediction.title)
        ));
        if e.pairs.is_empty() {
            body.push_str("<p>No relation predicted.</p>\n");
        }
        let gold = doc.facts.as_deref();
        let gold_of = |h: usize, t: usize| -> BTreeSet<usize> {
            gold.unwrap_or_default()
                .iter()
                .filter(|f| (f.head, f.tail) == (h, t))
                .map(|f| f.relation)
                .collect()
        };
        for pair in &e.pairs {
            body.push_str(&format!(
                "<section>\n<h3><span class=\"h\">{}</span> &rarr; <span class=\"t\">{}</span></h3>\n<ul>\n",
                escape(&entity_name(doc, pair.head)),
                escape(&entity_name(doc, pair.tail))
            ));
            let mut missed = gold_of(pair.head, pair.tail);
            for p in e
                .prediction
                .predictions
                .iter()
                .filter(|p| (p.head, p.tail) == (pair.head, pair.tail))
            {
                let mark = match (gold, vocab.ids.get(&p.relation)) {
                    (None, _) => String::new(),
                    (Some(_), Some(id)) if missed.remove(id) => {
                        " <span class=\"gold\">\u{2713} gold</span>".into()
                    }
                    (Some(_), _) => " <span class=\"wrong\">\u{2717} not gold</span>".into(),
                };
                body.push_str(&format!(
                    "<li><span class=\"rel\">{}</span> {}: {}{mark}</li>\n",
                    escape(&p.relation),
                    escape(&p.name),
                    score_text(&p.score)
                ));
            }
            for &relation in &missed {
                body.push_str(&format!(
                    "<li class=\"missed\">\u{25cb} <span class=\"rel\">{}</span>: gold, not predicted</li>\n",
                    escape(&relation_text(vocab, relation))
                ));
            }
            let evidence = pair.evidence(EVIDENCE_SENTENCES);
            let listed: Vec<String> = evidence
                .iter()
                .map(|(s, w)| format!("{s} ({w:.3})"))
                .collect();
            let ids: Vec<usize> = evidence.iter().map(|(s, _)| *s).collect();
            body.push_str(&format!(
                "</ul>\n<p>Evidence sentences (weight): {}</p>\n<p>{}</p>\n</section>\n",
                if listed.is_empty() {
                    "none".to_string()
                } else {
                    listed.join(", ")
                },
                highlighted(doc, pair, &ids)
            ));
        }
        body.push_str(&missed_pairs(doc, e, vocab));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>ATLOP predictions</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>ATLOP predictions</h1>\n{body}</body>\n</html>\n"
    )
}

/// The gold facts of pairs the model predicted nothing for (labelled input only).
fn missed_pairs(doc: &Document, e: &ExplainedPrediction, vocab: &RelationVocab) -> String {
    let Some(facts) = &doc.facts else {
        return String::new();
    };
    let explained: BTreeSet<(usize, usize)> = e.pairs.iter().map(|p| (p.head, p.tail)).collect();
    let items: Vec<String> = facts
        .iter()
        .filter(|f| !explained.contains(&(f.head, f.tail)))
        .map(|f| {
            format!(
                "<li class=\"missed\">\u{25cb} <span class=\"h\">{}</span> &rarr; <span class=\"t\">{}</span>: <span class=\"rel\">{}</span></li>\n",
                escape(&entity_name(doc, f.head)),
                escape(&entity_name(doc, f.tail)),
                escape(&relation_text(vocab, f.relation))
            )
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<section>\n<h3>Gold facts of pairs with no prediction</h3>\n<ul>\n{}</ul>\n</section>\n",
        items.concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    use crate::data::{Entity, Fact, Mention};
    use crate::inference::predictor::{DocumentPrediction, RelationPrediction};

    fn mention(name: &str, sent_id: usize, start: usize) -> Mention {
        Mention {
            name: name.into(),
            sent_id,
            start,
            end: start + 1,
            entity_type: "PER".into(),
        }
    }

    fn predicted(relation: &str, name: &str) -> RelationPrediction {
        RelationPrediction {
            head: 0,
            tail: 1,
            head_name: "John".into(),
            tail_name: "Bendigo".into(),
            relation: relation.into(),
            name: name.into(),
            score: Score::Margin { margin: 1.5 },
        }
    }

    #[test]
    fn the_page_marks_head_tail_evidence_and_gold_with_a_legend() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let doc = Document {
            title: "John".into(),
            sents: vec![words("John lives in Bendigo ."), words("He likes it .")],
            entities: vec![
                Entity {
                    mentions: vec![mention("John", 0, 0), mention("He", 1, 0)],
                },
                Entity {
                    mentions: vec![mention("Bendigo", 0, 3)],
                },
            ],
            facts: Some(vec![
                Fact {
                    head: 0,
                    tail: 1,
                    relation: 1,
                    evidence: vec![0],
                },
                Fact {
                    head: 1,
                    tail: 0,
                    relation: 2,
                    evidence: vec![],
                },
            ]),
            candidate_pairs: None,
        };
        let mut vocab = RelationVocab::from_labels(vec!["Na".into(), "P551".into(), "P17".into()]);
        vocab.descriptions.insert("P551".into(), "residence".into());
        vocab.descriptions.insert("P17".into(), "country".into());
        let explained = ExplainedPrediction {
            prediction: DocumentPrediction {
                index: 0,
                title: doc.title.clone(),
                predictions: vec![predicted("P551", "residence"), predicted("P17", "country")],
            },
            pairs: vec![PairExplanation {
                head: 0,
                tail: 1,
                word_weights: vec![0.1, 0.2, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0],
                sentence_weights: vec![0.7, 0.0],
            }],
        };
        let page = render_page(&[(0, &doc)], &[explained], &vocab);
        assert!(page.contains("<b>Legend</b>"), "{page}");
        // Head mentions underlined (with their weight where they have one), the tail too.
        assert!(
            page.contains("class=\"tok h\" style=\"background:rgba(255,140,0,0.250)\" title=\"0.1000\">John</span>"),
            "{page}"
        );
        assert!(page.contains("<span class=\"h\">He</span>"), "{page}");
        assert!(
            page.contains("class=\"tok t\" style=\"background:rgba(255,140,0,1.000)\" title=\"0.4000\">Bendigo</span>"),
            "{page}"
        );
        // Sentence 0 is the evidence; sentence 1 has no weight and is neither framed nor listed.
        assert!(
            page.contains("<span class=\"sent ev\"><sup>0</sup>"),
            "{page}"
        );
        assert!(page.contains("<span class=\"sent\"><sup>1</sup>"), "{page}");
        assert!(
            page.contains("Evidence sentences (weight): 0 (0.700)</p>"),
            "{page}"
        );
        // Gold marks: P551 is gold, P17 is not; the reverse pair's gold fact was missed.
        assert!(
            page.contains("residence: margin over TH 1.500 <span class=\"gold\">"),
            "{page}"
        );
        assert!(
            page.contains("country: margin over TH 1.500 <span class=\"wrong\">"),
            "{page}"
        );
        assert!(
            page.contains("Gold facts of pairs with no prediction"),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"rel\">P17 country</span>"),
            "{page}"
        );
    }

    #[test]
    fn an_unlabelled_document_gets_no_gold_marks() {
        let doc = Document {
            title: "t".into(),
            sents: vec![vec!["A".into(), "B".into()]],
            entities: vec![
                Entity {
                    mentions: vec![mention("A", 0, 0)],
                },
                Entity {
                    mentions: vec![mention("B", 0, 1)],
                },
            ],
            facts: None,
            candidate_pairs: None,
        };
        let explained = ExplainedPrediction {
            prediction: DocumentPrediction {
                index: 0,
                title: "t".into(),
                predictions: vec![predicted("P17", "country")],
            },
            pairs: vec![PairExplanation {
                head: 0,
                tail: 1,
                word_weights: vec![0.0, 0.0],
                sentence_weights: vec![0.0],
            }],
        };
        let vocab = RelationVocab::from_labels(vec!["Na".into(), "P17".into()]);
        let page = render_page(&[(0, &doc)], &[explained], &vocab);
        assert!(
            page.contains("country: margin over TH 1.500</li>"),
            "{page}"
        );
        assert!(!page.contains("Gold facts of pairs"), "{page}");
        assert!(page.contains("Evidence sentences (weight): none"), "{page}");
    }
}
