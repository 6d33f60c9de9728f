//! Facts of the training file, for the official Ign F1 (DocRED's `evaluation.py`,
//! `gen_train_facts`): a correct prediction whose entities' names already occur with that
//! relation in training could have been memorised, so Ign F1 leaves it out.

use std::collections::HashSet;

use crate::data::{Dataset, Document};

/// The (head mention name, tail mention name, relation id) triples of a training file. Relation
/// ids must come from the same vocabulary as the evaluated predictions.
#[derive(Debug, Clone, Default)]
pub struct TrainFacts {
    facts: HashSet<(String, String, usize)>,
}

impl TrainFacts {
    /// Every mention-name pair of every labelled fact of `train` (the official
    /// `gen_train_facts`): pass whichever file the run trained on.
    pub fn from_dataset(train: &Dataset) -> Self {
        let mut facts = HashSet::new();
        for doc in &train.documents {
            for fact in doc.facts.iter().flatten() {
                let (Some(h), Some(t)) = (doc.entities.get(fact.head), doc.entities.get(fact.tail))
                else {
                    continue;
                };
                for hm in &h.mentions {
                    for tm in &t.mentions {
                        facts.insert((hm.name.clone(), tm.name.clone(), fact.relation));
                    }
                }
            }
        }
        TrainFacts { facts }
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Whether any mention name of `head` with any mention name of `tail` has `relation` in
    /// training.
    pub fn seen(&self, doc: &Document, head: usize, tail: usize, relation: usize) -> bool {
        let (Some(h), Some(t)) = (doc.entities.get(head), doc.entities.get(tail)) else {
            return false;
        };
        h.mentions.iter().any(|hm| {
            t.mentions.iter().any(|tm| {
                self.facts
                    .contains(&(hm.name.clone(), tm.name.clone(), relation))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetKind, Entity, Fact, Mention};

    fn entity(names: &[&str]) -> Entity {
        Entity {
            mentions: names
                .iter()
                .map(|n| Mention {
                    name: n.to_string(),
                    sent_id: 0,
                    start: 0,
                    end: 1,
                    entity_type: "PER".into(),
                })
                .collect(),
        }
    }

    fn doc(entities: Vec<Entity>, facts: Vec<(usize, usize, usize)>) -> Document {
        Document {
            title: "d".into(),
            sents: vec![],
            entities,
            facts: Some(
                facts
                    .into_iter()
                    .map(|(head, tail, relation)| Fact {
                        head,
                        tail,
                        relation,
                        evidence: vec![],
                    })
                    .collect(),
            ),
            candidate_pairs: None,
        }
    }

    #[test]
    fn any_mention_name_pair_counts() {
        let train = Dataset {
            path: "train.json".into(),
            kind: DatasetKind::Docred,
            documents: vec![doc(
                vec![entity(&["Bob", "Robert"]), entity(&["Paris"])],
                vec![(0, 1, 5)],
            )],
        };
        let facts = TrainFacts::from_dataset(&train);
        assert_eq!(facts.len(), 2);
        // The dev entity shares only its second mention's name with training.
        let dev = doc(vec![entity(&["R.", "Robert"]), entity(&["Paris"])], vec![]);
        assert!(facts.seen(&dev, 0, 1, 5));
        assert!(!facts.seen(&dev, 0, 1, 4));
        assert!(!facts.seen(&dev, 1, 0, 5));
        assert!(!facts.seen(&dev, 0, 9, 5));
    }
}
