//! One standalone HTML page of explanations (inline CSS, no external assets): per predicted
//! pair, the document's words with a background whose opacity is the word's localized-context
//! weight relative to the pair's largest (Sec. 2.3, as in the paper's Figure 5), and the pair's
//! relations with their scores.

use super::explanation::{entity_name, PairExplanation, EVIDENCE_SENTENCES};
use super::predictor::{ExplainedPrediction, Score};
use crate::data::Document;

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.6}\
section{border-top:1px solid #ccc;padding:.5em 0}\
.tok{background:rgb(255,140,0);border-radius:3px}\
.rel{font-family:monospace}";

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

/// The words of `doc`, each with weight > 0 in a `<span class="tok">` whose background opacity
/// is its weight over the pair's largest.
fn highlighted(doc: &Document, pair: &PairExplanation) -> String {
    let max = pair.word_weights.iter().copied().fold(0.0f32, f32::max);
    let mut out = String::new();
    for (i, word) in doc.sents.iter().flatten().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let weight = pair.word_weights.get(i).copied().unwrap_or(0.0);
        if max > 0.0 && weight > 0.0 {
            let alpha = (weight / max).clamp(0.0, 1.0);
            out.push_str(&format!(
                "<span class=\"tok\" style=\"background:rgba(255,140,0,{alpha:.3})\" \
                 title=\"{weight:.4}\">{}</span>",
                escape(word)
            ));
        } else {
            out.push_str(&escape(word));
        }
    }
    out
}

/// The page for `docs` and their explained predictions (matched by `prediction.index`).
pub fn render_page(docs: &[(usize, &Document)], explained: &[ExplainedPrediction]) -> String {
    let mut body = String::new();
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
        for pair in &e.pairs {
            body.push_str(&format!(
                "<section>\n<h3>{} &rarr; {}</h3>\n<ul>\n",
                escape(&entity_name(doc, pair.head)),
                escape(&entity_name(doc, pair.tail))
            ));
            for p in e
                .prediction
                .predictions
                .iter()
                .filter(|p| (p.head, p.tail) == (pair.head, pair.tail))
            {
                body.push_str(&format!(
                    "<li><span class=\"rel\">{}</span> {}: {}</li>\n",
                    escape(&p.relation),
                    escape(&p.name),
                    score_text(&p.score)
                ));
            }
            let evidence: Vec<String> = pair
                .evidence(EVIDENCE_SENTENCES)
                .iter()
                .map(|(s, w)| format!("{s} ({w:.3})"))
                .collect();
            body.push_str(&format!(
                "</ul>\n<p>Evidence sentences: {}</p>\n<p>{}</p>\n</section>\n",
                evidence.join(", "),
                highlighted(doc, pair)
            ));
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>ATLOP predictions</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>ATLOP predictions</h1>\n{body}</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
